import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../errors.js';

/** Where `npm run build` writes the console (vite.config.ts): the same folder from src/web/ (tests) and dist/web/. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** The console's URL path. */
export const CONSOLE_PATH = '/console';

/** Vite names every bundled file by its content hash: a cached copy can never be stale. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The console only loads its own files and talks only to this origin's API; it holds an API key, so no
 * other origin may frame it or inject script into it.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The placeholder index.html carries (console/index.html) for the API root the console calls. */
const API_ROOT_PLACEHOLDER = '%ROSTER_API_ROOT%';

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * Serves the admin console at /console: hashed assets (precompressed .br/.gz chosen by Accept-Encoding)
 * cached for a year, and index.html, never cached, for /console and every deep link under it (the
 * console routes in the browser), with this server's API root written in.
 */
export async function consoleRoutes(app: FastifyInstance, { apiRoot }: { apiRoot: string }): Promise<void> {
  const indexFile = `${CONSOLE_DIR}index.html`;
  if (!existsSync(indexFile)) {
    app.log.warn(`the console is not built (${indexFile} is missing): run npm run build`);
    const notBuilt = async () => {
      throw new AppError('NOT_FOUND', 'The console is not built on this server: run `npm run build`, then restart.');
    };
    app.get('/', { schema: { hide: true } }, notBuilt);
    app.get('/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  const index = readFileSync(indexFile, 'utf8').replaceAll(API_ROOT_PLACEHOLDER, escapeAttribute(apiRoot));
  const sendIndex = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    return payload;
  });
  await app.register(fastifyStatic, {
    root: CONSOLE_DIR,
    wildcard: false,
    index: false,
    preCompressed: true,
    cacheControl: false,
    dotfiles: 'ignore',
    // index.html goes out only through sendIndex, with the API root filled in.
    allowedPath: (path) => !path.endsWith('/index.html'),
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.includes('/assets/') ? IMMUTABLE : 'public, max-age=3600');
    },
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
  app.setNotFoundHandler(async (request, reply) => {
    // A missing hashed asset is a stale page asking for a previous build: a 404, not the app.
    if ((request.method !== 'GET' && request.method !== 'HEAD') || request.url.startsWith(`${CONSOLE_PATH}/assets/`))
      throw new AppError('NOT_FOUND', `There is no console file ${request.url.split('?')[0]}; reload the console.`);
    return sendIndex(reply);
  });
}
