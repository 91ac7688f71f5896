import type { Worker } from "./worker.js";

/** What the loop is doing, for a readiness check: it only ever changes inside the loop itself. */
export interface LoopStatus {
  /**
   * `working`: a pass is working due jobs. `sleeping`: waiting for the next poll, a timer or a
   * wake. `stopped`: `stop()` was called. `ended`: the loop ended by itself (it never should:
   * a pass that throws is caught), so nothing works the queue any more.
   */
  state: "working" | "sleeping" | "stopped" | "ended";
  /** When the loop last beat: a pass started or ended. */
  beatAt: number;
  /** The longest a sleep lasts: a sleeping loop beats again within this. */
  pollMs: number;
}

export interface WorkerLoop {
  /** Work now instead of at the next poll: a webhook just queued something. */
  wake(): void;
  /** Stops after the current pass; resolves when the loop has ended. */
  stop(): Promise<void>;
  /** Whether the loop still goes and when it last beat (`GET /ready`). */
  status(): LoopStatus;
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
  let ended = false;
  let working = false;
  let beatAt = options.now();
  const beat = (busy: boolean) => {
    working = busy;
    beatAt = options.now();
  };
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
      beat(true);
      try {
        next = (await worker.runUntilIdle()).nextRunAt;
      } catch (error) {
        options.onError?.(error);
      }
      beat(false);
      if (stopped) break;
      const wait = next === undefined ? pollMs : Math.min(pollMs, Math.max(0, next - options.now()));
      await sleep(wait);
    }
  })().finally(() => {
    ended = true;
  });
  return {
    wake: () => wakeUp?.(),
    stop: async () => {
      stopped = true;
      // The pass in progress finishes the effect it is on, not every due job.
      worker.stop?.();
      wakeUp?.();
      await done;
    },
    status: () => ({
      state: stopped ? "stopped" : ended ? "ended" : working ? "working" : "sleeping",
      beatAt,
      pollMs,
    }),
  };
}
