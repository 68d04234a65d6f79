#!/usr/bin/env node
// The `roster` command: the compiled CLI (built by `npm install` through the prepare script).
import '../dist/main.js';
