import sonicBoom from 'sonic-boom';

const { SonicBoom } = sonicBoom; // a CommonJS module: its default import is module.exports

/** A reader that stops reading may hold back at most this much log output; lines beyond it are dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

let dropped = 0;

/** Log lines this process could not write: its reader went away or fell too far behind. */
export function countDroppedLogLines(): number {
  return dropped;
}

/** Where the server's logger writes: never throws, never blocks, and counts what it cannot write. */
export interface LogDestination {
  write(line: string): void;
  /** Resolves when every line taken is written, the destination has failed, or `timeoutMs` has passed. */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * Writes log lines to a file descriptor (stdout by default) without ever stopping the server. pino's
 * default destination flushes on exit in a loop that retries a failed write forever (a process with a
 * closed stdout never ends); this one stops writing at the first failure (EPIPE, EBADF, EIO: the reader is
 * not coming back) and counts every line it drops from then on.
 */
export function createLogDestination(fd = 1): LogDestination {
  const sonic = new SonicBoom({ fd, sync: false, minLength: 0, maxLength: MAX_BUFFERED_BYTES });
  // The byte length of each line handed to sonic-boom and not yet fully written, oldest first.
  const unwritten: number[] = [];
  let writtenOfFirst = 0;
  let failed = false;
  let refused = false;
  const waiters = new Set<() => void>();
  const wakeWaiters = () => {
    if (!failed && unwritten.length > 0) return;
    for (const wake of waiters) wake();
  };

  sonic.on('drop', () => (refused = true));
  sonic.on('write', (bytes: number) => {
    writtenOfFirst += bytes;
    while (unwritten.length > 0 && writtenOfFirst >= unwritten[0]!) writtenOfFirst -= unwritten.shift()!;
    wakeWaiters();
  });
  sonic.on('error', (error: NodeJS.ErrnoException) => {
    if (failed) return;
    failed = true;
    dropped += unwritten.length;
    unwritten.length = 0;
    process.stderr.write(
      `roster: cannot write log lines (${error.code ?? error.message}); dropping them from now on, counted in roster_log_lines_dropped_total at /metrics\n`,
    );
    wakeWaiters();
  });

  return {
    write(line) {
      if (failed) {
        dropped++;
        return;
      }
      refused = false;
      sonic.write(line);
      if (refused) dropped++;
      else unwritten.push(Buffer.byteLength(line));
    },
    drain(timeoutMs) {
      if (failed || unwritten.length === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
      });
    },
  };
}
