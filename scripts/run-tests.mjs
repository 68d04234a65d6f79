// Runs every test file under test/ (or those given as arguments) with node:test and tsx.
// Test files run in parallel processes; each makes its own fresh databases.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, suffix) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name), suffix) : e.name.endsWith(suffix) ? [join(dir, e.name)] : [],
  );
}

const suffix = process.env.ROSTER_TEST_SUFFIX ?? '.test.ts';
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : find('test', suffix)
        .filter((f) => !f.includes('/faults/') || suffix !== '.test.ts')
        .sort();
const concurrency = process.env.ROSTER_TEST_CONCURRENCY ?? '3';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
