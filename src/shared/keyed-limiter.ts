/** Thrown by a KeyedLimiter when a key's queue is full. */
export class LimiterFullError extends Error {}

/**
 * At most `running` tasks per key at once; up to `queued` more wait their turn
 * (first come, first served); past that, acquire fails at once with
 * LimiterFullError. One key's tasks never wait for another key's.
 */
export function createKeyedLimiter(running: number, queued: number) {
  const state = new Map<number, { active: number; waiting: (() => void)[] }>();

  function release(key: number): void {
    const s = state.get(key)!;
    const next = s.waiting.shift();
    if (next) next();
    else if (--s.active === 0) state.delete(key);
  }

  return {
    /** Resolves with the release function once the key has a free slot. */
    async acquire(key: number): Promise<() => void> {
      let s = state.get(key);
      if (!s) state.set(key, (s = { active: 0, waiting: [] }));
      if (s.active < running) s.active++;
      else if (s.waiting.length >= queued) throw new LimiterFullError();
      else await new Promise<void>((resolve) => s.waiting.push(resolve));
      let done = false;
      return () => {
        if (!done) release(key);
        done = true;
      };
    },
  };
}
