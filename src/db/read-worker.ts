import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

// One SQLite read worker (db/read-pool.ts): its own read-only connection to the WAL database, so that a
// costly read runs off the main thread. A WAL reader sees every transaction committed before its statement.

interface Job {
  readonly id: number;
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/**
 * Linux: this thread runs at a lower CPU priority (nice 10) than the main thread, so that on a busy machine
 * a flood of costly reads yields the cores to the cheap requests (a key lookup, a user by id, a write) of
 * every tenant. Linux names a thread's id in /proc/thread-self; elsewhere the priority stays as it is.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // Not Linux, or not allowed: the reads still run off the main thread.
  }
}

lowerThreadPriority();
const { file } = workerData as { file: string };
const sqlite = new SQLite(file, { readonly: true, fileMustExist: true });
sqlite.pragma('busy_timeout = 10000');
sqlite.pragma('cache_size = -32768');
sqlite.pragma('mmap_size = 1073741824');

const statements = new Map<string, SQLite.Statement>();
// Time limits count from here: starting a thread and opening the file is not the query's cost.
parentPort!.postMessage({ ready: true });

parentPort!.on('message', ({ id, sql, parameters }: Job) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      statement = sqlite.prepare(sql);
      if (statements.size >= 256) statements.delete(statements.keys().next().value as string);
      statements.set(sql, statement);
    }
    const rows = statement.reader ? statement.all(...parameters) : (statement.run(...parameters), []);
    parentPort!.postMessage({ id, rows });
  } catch (error) {
    const { message, code } = error as { message?: string; code?: string };
    parentPort!.postMessage({ id, error: { message: message ?? String(error), code } });
  }
});
