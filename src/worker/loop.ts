import type { Worker } from "./worker.js";

export interface WorkerLoop {
  /** Work now instead of at the next poll: a webhook just queued something. */
  wake(): void;
  /** Stops after the current pass; resolves when the loop has ended. */
  stop(): Promise<void>;
}

/**
 * Keeps a worker going in a long-running process (`atomic-scrum serve`): a pass works every due
 * job, then the loop sleeps until the next timer or `pollMs`, whichever comes first, or until
 * woken. A pass that throws is logged and the loop goes on: one bad run must not stop the rest.
 */
export function startWorkerLoop(
  worker: Pick<Worker, "runUntilIdle"> & Partial<Pick<Worker, "stop">>,
  options: { now: () => number; pollMs?: number; onError?: (error: unknown) => void },
): WorkerLoop {
  const pollMs = options.pollMs ?? 5_000;
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const done = (async () => {
    while (!stopped) {
      let next: number | undefined;
      try {
        next = (await worker.runUntilIdle()).nextRunAt;
      } catch (error) {
        options.onError?.(error);
      }
      if (stopped) break;
      const wait = next === undefined ? pollMs : Math.min(pollMs, Math.max(0, next - options.now()));
      await sleep(wait);
    }
  })();
  return {
    wake: () => wakeUp?.(),
    stop: async () => {
      stopped = true;
      // The pass in progress finishes the effect it is on, not every due job.
      worker.stop?.();
      wakeUp?.();
      await done;
    },
  };
}
