// The peer: Platformatic DB (2.61, the newest that runs on Node 20) serving the
// same PostgreSQL database Roster uses, with its generated REST API
// (where/limit/offset/totalCount). Usage: node bench/peer.mjs <port> <postgres url>
import { buildServer } from '@platformatic/db';

const [port, connectionString] = process.argv.slice(2);
const app = await buildServer({
  server: { hostname: '127.0.0.1', port: Number(port), logger: { level: 'warn' } },
  db: {
    connectionString,
    graphql: false,
    openapi: true,
    events: false,
    schemalock: false,
    limit: { default: 25, max: 10000 },
  },
  watch: false,
});
await app.start();
process.stdout.write('ready\n');
