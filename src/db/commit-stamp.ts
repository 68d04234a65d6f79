import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * What SQLite's last commit looks like from this process, without a read transaction: the WAL index header
 * at the start of the `-shm` file (https://www.sqlite.org/walformat.html, "The WAL-Index Header"). Every
 * commit to a WAL database, by any connection of any process, rewrites that header (its frame count and
 * checksums; a WAL restart its salts and change counter), so an unchanged stamp means no commit since.
 * Reading it is one pread; a read transaction is two fcntl locks and a statement (docs/performance.md).
 */
export interface CommitStamp {
  /** The stamp now, or undefined when it cannot tell (no -shm file yet, a header being written). */
  read(): string | undefined;
  close(): void;
}

// The header is 48 bytes, kept twice; a writer updates the second copy, then (after a memory barrier) the
// first, and readers take it only when both agree, as SQLite's own readers do.
const HEADER_BYTES = 48;
// The header's isInit byte: 1 once a connection has built the WAL index.
const IS_INIT = 12;

export function openCommitStamp(file: string): CommitStamp {
  // Resolved now, as SQLite resolved the file when it opened it: the -shm file is opened on first use.
  const path = `${resolve(file)}-shm`;
  const buffer = Buffer.alloc(2 * HEADER_BYTES);
  let fd: number | undefined;
  return {
    read(): string | undefined {
      try {
        fd ??= openSync(path, 'r');
        if (readSync(fd, buffer, 0, buffer.length, 0) < buffer.length) return undefined;
      } catch {
        return undefined;
      }
      if (buffer[IS_INIT] !== 1 || buffer.compare(buffer, HEADER_BYTES, 2 * HEADER_BYTES, 0, HEADER_BYTES) !== 0)
        return undefined;
      return buffer.toString('latin1', 0, HEADER_BYTES);
    },
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
