// The ceiling: a bare Fastify route answering each benchmark URL with the exact
// bytes Roster answered, serialized beforehand. No auth, no database, no logging.
// Usage: node bench/ceiling.mjs <port> <bodies.json>   (bodies: { "<url>": "<body>" }, "*PATCH" for writes)
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [port, file] = process.argv.slice(2);
const bodies = new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8'))).map(([k, v]) => [k, Buffer.from(v)]));
const patchBody = bodies.get('*PATCH') ?? Buffer.from('{}');
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
const send = (request, reply) => {
  const body = request.method === 'PATCH' ? patchBody : bodies.get(request.url);
  if (body === undefined) return reply.code(404).send('');
  return reply.type('application/json; charset=utf-8').send(body);
};
app.get('/*', send);
app.patch('/*', send);
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.stdout.write('ready\n');
