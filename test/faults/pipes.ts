import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import type { Readable } from 'node:stream';
import { newUser, sleep, type RosterProcess } from './support.js';
import { ROSTER_MAIN, rosterArgs } from '../support/cli.js';

/** What a stack trace, or Node's report of an uncaught error, looks like in a process's output. */
export const STACK = /\n\s+at |node:internal|Uncaught|Error: /;

/** The reader of a process's output goes away: its end of each pipe is closed, so the process's next write there fails (EPIPE). */
export async function closeReaders(...streams: Array<Readable | null>): Promise<void> {
  for (const stream of streams) stream?.destroy();
  await sleep(200);
}

/** `roster_log_lines_dropped_total` as the process answering `/metrics` reports it. */
export async function droppedLogLines(base: string): Promise<number> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  const match = /^roster_log_lines_dropped_total (\d+)$/m.exec(await res.text());
  assert.ok(match, 'roster_log_lines_dropped_total is in /metrics');
  return Number(match[1]);
}

/** A request that is answered, within 10 s. */
export async function get(url: string, key?: string): Promise<Response> {
  return fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.timeout(10_000) });
}

export interface SlowUpload {
  /** Sends the rest of the body; resolves with the raw response once the server closes the connection. */
  finish(): Promise<string>;
  /** Resolves with the raw response (maybe empty) once the connection is closed, by either side. */
  readonly closed: Promise<string>;
}

/** A POST users whose body is half sent: the request stays in flight until `finish` (or forever). */
export async function startSlowUpload(base: string, key: string, username: string): Promise<SlowUpload> {
  const { hostname, port } = new URL(base);
  const body = JSON.stringify(newUser(username));
  const half = Math.floor(body.length / 2);
  const socket = tcpConnect({ host: hostname, port: Number(port) });
  let response = '';
  socket.on('data', (d) => (response += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(response)));
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  socket.write(
    `POST /api/v1/users HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
  );
  await sleep(300);
  return {
    finish: () => {
      socket.write(body.slice(half));
      return closed;
    },
    closed,
  };
}

/**
 * Sends `signal` and waits for the process to exit; the time is measured from the signal. A process that
 * is still there `limitMs` + 5 s later is killed (SIGKILL) and the test fails, instead of stalling.
 */
export async function signalAndWait(
  roster: Pick<RosterProcess, 'child' | 'exited'>,
  signal: NodeJS.Signals,
  limitMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const sentAt = Date.now();
  roster.child.kill(signal);
  const hung = sleep(limitMs + 5000).then(() => 'hung' as const);
  const exit = await Promise.race([roster.exited, hung]);
  if (exit === 'hung') {
    roster.child.kill('SIGKILL');
    assert.fail(`the process was still running ${limitMs + 5000} ms after ${signal}`);
  }
  return { ...exit, ms: Date.now() - sentAt };
}

/** The pids of a process's children that run Roster (its cluster workers), from /proc. */
export function rosterChildren(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  return children.filter(
    (child) => isRunning(child) && readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(ROSTER_MAIN),
  );
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A process started like `roster serve | head -1`: its first output line was read, then both pipes were closed. */
export interface HeadedRoster {
  readonly child: ChildProcess;
  /** From the first line (`Server listening at …`), the only one anyone read. */
  readonly url: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `roster serve` (LOG_LEVEL=info) and does what `| head -1` does to it: read one line, go away. */
export async function startRosterIntoHead(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<HeadedRoster> {
  const child = spawn(process.execPath, rosterArgs('serve'), {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let output = '';
  const firstLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`roster serve printed no line:\n${output}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const end = output.indexOf('\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolve(output.slice(0, end));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`roster serve exited:\n${output}`)));
  });
  await closeReaders(child.stdout, child.stderr);
  const match = /Server listening at (http:\/\/[^"\s]+)/.exec(firstLine);
  assert.ok(match, `the first line says where the server listens: ${firstLine}`);
  return { child, url: match[1]!, exited };
}

/** How a CLI process ended, and what it wrote. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `roster <args>` with a stdout whose reader has gone away before the command writes anything. */
export function rosterIntoClosedReader(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, rosterArgs(...args), {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: '', stderr }));
  });
}

/** `roster <args> <output>` in bash, e.g. output `| head -1`; the exit code is roster's (pipefail: head itself exits 0). */
export function rosterInBash(args: string[], output: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const command = `set -o pipefail; "${process.execPath}" ${rosterArgs(...args).join(' ')} ${output}`;
    const child = spawn('bash', ['-c', command], { env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
