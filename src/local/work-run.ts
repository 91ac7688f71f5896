import { formatTime, statusSentence } from "../render/format.js";
import { expireLeasesOf } from "../store/queue.js";
import { getRun, type RunRecord } from "../store/runs.js";
import type { Io } from "./commands.js";
import { releaseDeadLocalLeases, runWorker } from "./dead-owners.js";
import type { LocalApp } from "./local-app.js";
import { summaryLines } from "./progress-view.js";
import { describe, requireRun } from "./run-commands.js";

/**
 * Whether a process works on a running run (issue 12, item 8): after Ctrl-C, a crash or `kill -9`
 * the run's state still says running, but nothing moves it until someone resumes it.
 */
export function workerText(app: LocalApp, run: RunRecord): string {
  const worker = runWorker(app.db, run.id, app.now());
  if (worker.kind === "alive") return `running (pid ${worker.pid}): the run is working on the current phase.`;
  if (worker.kind === "elsewhere")
    return `running on ${worker.owner.split(":")[0]}: the run is working on the current phase.`;
  if (worker.kind === "backoff") {
    return `retrying after an error at ${formatTime(worker.at)}; the command that ran it waits for that, and if it was stopped, continue with \`${app.steps.command("resume", run.id)}\`.`;
  }
  return `interrupted: no process is working on it; continue with \`${app.steps.command("resume", run.id)}\`.`;
}

/** What a command needs of the process it runs in to stop cleanly on Ctrl-C (`process` itself). */
export interface InterruptTarget {
  once: (signal: "SIGINT" | "SIGTERM", listener: () => void) => unknown;
  off: (signal: "SIGINT" | "SIGTERM", listener: () => void) => unknown;
  exit: (code: number) => void;
}

/**
 * What Ctrl-C says: how to continue a run still under way. One that moved on meanwhile (cancelled
 * or approved from another terminal) has no resume to offer: it says where the run stands.
 */
function interruptedText(app: LocalApp, runId: string): string {
  const run = getRun(app.db, runId);
  const status = run?.state.status;
  if (!run || status === "running" || status === "waiting") {
    return `interrupted: continue with \`${app.steps.command("resume", runId)}\``;
  }
  if (status === "awaiting_approval") {
    return `interrupted: run ${runId} ${statusSentence(status)}: ${app.steps.approve(runId)}`;
  }
  return `interrupted: run ${runId} has nothing to continue: ${describe(run.state)}`;
}

/** The exit code of a process stopped by SIGINT, as shells report it (128 + 2). */
export const INTERRUPTED_EXIT_CODE = 130;

/**
 * Runs the worker until the run waits or ends; a job in backoff within a minute is waited for.
 * On SIGINT or SIGTERM (issue 12, item 8) it says how to continue, gives the run's lease back so
 * the next command starts at once instead of waiting for it to expire, and exits 130. Database
 * writes are synchronous, so none is half done when the handler runs; an effect under way (a
 * model call, a git command) is redone by the next worker, as after a crash.
 */
export async function work(app: LocalApp, runId: string, io: Io, signals?: InterruptTarget): Promise<number> {
  if (releaseDeadLocalLeases(app.db, app.now()) > 0) io.out("  taking over from a worker that stopped");
  const interrupted = () => {
    io.err(interruptedText(app, runId));
    expireLeasesOf(app.db, [app.owner], app.now());
    app.close();
    signals?.exit(INTERRUPTED_EXIT_CODE);
  };
  signals?.once("SIGINT", interrupted);
  signals?.once("SIGTERM", interrupted);
  try {
    for (;;) {
      const { nextRunAt } = await app.worker.runUntilIdle({ group: runId });
      const run = requireRun(app, runId);
      const soon = nextRunAt !== undefined && nextRunAt - app.now() <= 60_000;
      if (run.state.status === "running" && soon) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, (nextRunAt ?? 0) - app.now())));
        continue;
      }
      for (const line of summaryLines({ state: run.state, run }, app)) io.out(line);
      return run.state.status === "failed" ? 1 : 0;
    }
  } finally {
    signals?.off("SIGINT", interrupted);
    signals?.off("SIGTERM", interrupted);
  }
}
