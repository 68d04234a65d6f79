import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILT = join(ROOT, 'dist', 'main.js');
const SOURCE = join(ROOT, 'src', 'main.ts');

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

function builtIsCurrent(): boolean {
  try {
    return statSync(BUILT).mtimeMs >= newest(join(ROOT, 'src'));
  } catch {
    return false;
  }
}

/**
 * The file a `roster` child process runs: the build (`dist/main.js`, what the `roster` command runs) when it
 * is newer than every source file, else `src/main.ts` through tsx. `npm test` builds first; tsx costs each
 * child about a second of CPU more to start, and the tests start a few hundred children.
 */
export const ROSTER_MAIN = builtIsCurrent() ? BUILT : SOURCE;

/** The arguments to `process.execPath` that run `roster <args>` as a real process. */
export function rosterArgs(...args: string[]): string[] {
  return ROSTER_MAIN === BUILT ? [BUILT, ...args] : ['--import', 'tsx', SOURCE, ...args];
}
