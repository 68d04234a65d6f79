/** Never logged: keys travel in these headers. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-organization-token"]',
  'headers.authorization',
  'headers["x-organization-token"]',
];

/** The pino options of the server (and of the tests that check what it logs). */
export function loggerOptions(level: string, stream?: { write(line: string): void }) {
  return { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, ...(stream ? { stream } : {}) };
}
