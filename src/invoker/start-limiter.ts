/**
 * Bounds how many instance starts run at once across all pools. Cold starts are CPU-bound
 * (~15/s on 2 vCPUs, sandbox notes §11.5): beyond a few in parallel they only slow each other.
 */
export interface StartLimiter {
  run<T>(start: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly queued: number;
}

export function createStartLimiter(maxParallel: number): StartLimiter {
  const max = Math.max(1, Math.floor(maxParallel));
  let active = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    active--;
    const go = queue.shift();
    if (go) go();
  };
  return {
    get active() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    run<T>(start: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const go = (): void => {
          active++;
          let p: Promise<T>;
          try {
            p = start();
          } catch (err) {
            p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
          }
          p.then(resolve, reject).finally(next);
        };
        if (active < max) go();
        else queue.push(go);
      });
    },
  };
}
