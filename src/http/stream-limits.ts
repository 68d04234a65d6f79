import type { Readable, Writable } from 'node:stream';
import type { StreamLimits } from '../config.js';
import { AppError } from '../errors.js';

/** Seconds a refused stream is told to wait: a streamed export takes seconds to minutes. */
const RETRY_AFTER_S = '10';

/**
 * Admission of streamed answers (NDJSON, CSV and big JSON pages). A stream
 * holds a database read, buffers and a socket for as long as its client reads,
 * so a slow or hostile reader could otherwise pin the process's memory: at most
 * `perKey` streams per API key (429) and `perProcess` in all (503) run at once,
 * and each is cut at `deadlineMs` (its connection is closed: a client that sees
 * no complete end must not take the answer as whole).
 */
export function createStreamGate(limits: StreamLimits) {
  const byKey = new Map<number, number>();
  let running = 0;

  /** Counts a stream of `keyId` in, or throws the 429/503 that says why not. */
  function admit(keyId: number): () => void {
    const mine = byKey.get(keyId) ?? 0;
    if (mine >= limits.perKey)
      throw new AppError(
        'TOO_MANY_CONCURRENT',
        `This API key already has ${mine} streamed answers running, the most one key may have (${limits.perKey}); wait for one to finish, or ask for JSON pages.`,
        { headers: { 'retry-after': RETRY_AFTER_S } },
      );
    if (running >= limits.perProcess)
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        `This server is streaming ${running} answers, the most it runs at once (${limits.perProcess}); retry later, or ask for JSON pages.`,
        { headers: { 'retry-after': RETRY_AFTER_S } },
      );
    byKey.set(keyId, mine + 1);
    running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      running--;
      const left = (byKey.get(keyId) ?? 1) - 1;
      if (left === 0) byKey.delete(keyId);
      else byKey.set(keyId, left);
    };
  }

  return {
    admit,
    /**
     * Runs `body` under the gate for `keyId`: released when the body ends,
     * fails or is closed. At the deadline the body and the response it feeds
     * are destroyed (a destroyed source alone leaves a paused reader's
     * connection open).
     */
    guard(keyId: number, body: Readable, response: Writable): Readable {
      let release: () => void;
      try {
        release = admit(keyId);
      } catch (error) {
        body.destroy();
        throw error;
      }
      const timer = setTimeout(() => {
        body.destroy(new Error(`stream deadline of ${limits.deadlineMs} ms passed`));
        response.destroy();
      }, limits.deadlineMs);
      timer.unref();
      body.once('close', () => {
        clearTimeout(timer);
        release();
      });
      return body;
    },
  };
}

export type StreamGate = ReturnType<typeof createStreamGate>;
