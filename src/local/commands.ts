import { resolve } from "node:path";
import { withEditPolicy } from "../forge/edit-policy.js";
import { loadPipelineFile } from "../pipeline/load-pipeline.js";
import { formatProblem } from "../pipeline/problem.js";
import { preflight, preflightMessage } from "../providers/preflight.js";
import type { Provider } from "../providers/provider.js";
import { readFixtures } from "../providers/recorded.js";
import { createProviderRegistry } from "../providers/registry.js";
import {
  breakerSettingsFrom,
  loadServerSettings,
  PROVIDER_NAMES,
  type ServerSettings,
} from "../providers/settings.js";
import { renderStatus } from "../render/status-comment.js";
import { listAttempts, listRuns, type ProviderChoice, type RunRecord } from "../store/runs.js";
import { resolvePipelinePath } from "./builtin.js";
import { releaseDeadLocalLeases } from "./dead-owners.js";
import { dryRun, printDryRun } from "./dry-run.js";
import { readIssueFile } from "./issue-file.js";
import { createLocalApp, type LocalApp } from "./local-app.js";
import { progressLines, summaryLines } from "./progress-view.js";
import {
  approveRun,
  CommandError,
  cancelRun,
  fastForward,
  requireRun,
  retryRun,
  startRun,
} from "./run-commands.js";

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface AppFlags {
  repo: string;
  db?: string;
  provider: string;
  fixtures?: string;
  /** The server settings file (providers, prices, breaker, daily budget); none means defaults. */
  settings?: string;
  wait: boolean;
  /** `run --dry-run`: render, report gaps and forecast the cost; call nothing, start nothing. */
  dryRun?: boolean;
}

/** The provider choice the flags make, checked now so a typo fails before a run starts. */
function providerChoice(flags: AppFlags): ProviderChoice {
  if (!(PROVIDER_NAMES as readonly string[]).includes(flags.provider)) {
    throw new CommandError(
      `unknown provider "${flags.provider}"; choose one of: ${PROVIDER_NAMES.join(", ")}`,
    );
  }
  if (flags.provider === "recorded" && !flags.fixtures)
    throw new CommandError("the recorded provider needs --fixtures FILE");
  if (!flags.fixtures) return { name: flags.provider };
  // Read now, not at the first model call: by then the run and its branch would exist already.
  const fixtures = readFixtures(flags.fixtures);
  if (!fixtures.ok) {
    const lines = fixtures.problems.map(formatProblem).join("\n");
    throw new CommandError(`the --fixtures file has problems (nothing was run):\n${lines}`);
  }
  return { name: flags.provider, fixtures: resolve(flags.fixtures) };
}

/**
 * Builds the local app. A run uses the provider it was started with (pinned on the run), so
 * resuming with other flags never switches models; the flags choose the provider of new runs.
 */
function openApp(flags: AppFlags, io: Io): LocalApp {
  const fallback = providerChoice(flags);
  const settings = readSettings(flags.settings);
  const registry = createProviderRegistry({ settings, env: process.env, warn: (message) => io.err(message) });
  const providerFor = (run: RunRecord): Provider => {
    try {
      return registry.forChoice(run.provider ?? fallback);
    } catch (error) {
      throw new CommandError(`run ${run.id}: ${(error as Error).message}`);
    }
  };
  return createLocalApp({
    repoDir: flags.repo,
    ...(flags.db ? { dbPath: flags.db } : {}),
    providerFor,
    price: registry.price,
    isPriced: registry.isPriced,
    judgeFor: (run, named) => {
      try {
        return registry.judgeFor(run.provider ?? fallback, named);
      } catch (error) {
        throw new CommandError(`run ${run.id}: ${(error as Error).message}`);
      }
    },
    breaker: breakerSettingsFrom(settings),
    ...(settings.budget.daily_max_cost_usd === undefined
      ? {}
      : { dailyMaxCostUsd: settings.budget.daily_max_cost_usd }),
    fastForwardWaits: !flags.wait,
    onProgress: (progress) => {
      for (const line of progressLines(progress)) io.out(line);
    },
  });
}

/** The settings file's problems are the command's error, located and all at once. */
function readSettings(file: string | undefined): ServerSettings {
  try {
    return loadServerSettings(file);
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
}

/** `atomic-scrum run <pipeline> --issue <file>`: starts a run and works it until it waits or ends. */
export async function runCommand(
  pipelineArg: string,
  issueFile: string,
  flags: AppFlags,
  io: Io,
): Promise<{ code: number; runId?: string }> {
  const path = resolvePipelinePath(pipelineArg);
  const loaded = loadPipelineFile(path);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(formatProblem(problem));
    return { code: 1 };
  }
  const issue = readIssueFile(issueFile);
  if (flags.dryRun) {
    const report = await dryRun({
      pipeline: loaded.pipeline,
      issue,
      repoDir: flags.repo,
      ...(flags.db ? { dbPath: flags.db } : {}),
      provider: flags.provider,
      ...(flags.fixtures ? { fixtures: resolve(flags.fixtures) } : {}),
      settings: readSettings(flags.settings),
      env: process.env,
      now: Date.now(),
    });
    return { code: printDryRun(report, io) };
  }
  // Every setup mistake at once, before a run or its branch exists (issue 12, item 4).
  const choice = { name: flags.provider, ...(flags.fixtures ? { fixtures: resolve(flags.fixtures) } : {}) };
  const settings = readSettings(flags.settings);
  const unready = preflight({ choice, pipeline: loaded.pipeline, settings, env: process.env });
  if (unready.length > 0) throw new CommandError(preflightMessage(unready));
  const app = openApp(flags, io);
  try {
    const run = startRun(app, {
      // Pinned with the run like the pipeline: a resume with another settings file keeps it.
      pipeline: withEditPolicy(loaded.pipeline, readSettings(flags.settings).edits),
      hash: loaded.hash,
      pipelinePath: path,
      issue,
      provider: providerChoice(flags),
    });
    io.out(`atomic-scrum · ${run.pipelineName} · run ${run.id} · issue #${issue.number} "${issue.title}"`);
    return { code: await work(app, run.id, io), runId: run.id };
  } finally {
    app.close();
  }
}

/** `atomic-scrum resume <run-id>`: continues a run after a cooldown, a crash or a stop. */
export async function resumeCommand(runId: string, flags: AppFlags, io: Io): Promise<number> {
  const app = openApp(flags, io);
  try {
    const run = requireRun(app, runId);
    if (run.state.status === "waiting" && (run.state.waitUntil ?? 0) > app.now()) {
      if (flags.wait) {
        for (const line of summaryLines({ state: run.state, run }, app.runsDir)) io.out(line);
        return 0;
      }
      fastForward(app, run);
    }
    return await work(app, runId, io);
  } finally {
    app.close();
  }
}

/** `atomic-scrum approve <run-id>`: the local human review. */
export function approveCommand(runId: string, by: string, flags: AppFlags, io: Io): Promise<number> {
  return withApp(flags, io, (app) => {
    approveRun(app, requireRun(app, runId), by);
    return work(app, runId, io);
  });
}

/** `atomic-scrum cancel <run-id>`. */
export function cancelCommand(runId: string, by: string, flags: AppFlags, io: Io): Promise<number> {
  return withApp(flags, io, (app) => {
    cancelRun(app, requireRun(app, runId), by);
    return work(app, runId, io);
  });
}

/**
 * `atomic-scrum retry <run-id> [phase]`: sends a failed run back where it stopped (or to `phase`)
 * in a new round, then works it, like `/retry` on GitHub. A command of its own, not `resume`:
 * resume only continues what is under way and is safe to type at any time, while a retry starts
 * new attempts that cost tokens, so it should be asked for by name.
 */
export function retryCommand(
  runId: string,
  phase: string | undefined,
  by: string,
  flags: AppFlags,
  io: Io,
): Promise<number> {
  return withApp(flags, io, (app) => {
    retryRun(app, runId, phase, by);
    return work(app, runId, io);
  });
}

/** Opens the app for one command and closes it whatever happens. */
async function withApp<T>(flags: AppFlags, io: Io, command: (app: LocalApp) => T | Promise<T>): Promise<T> {
  const app = openApp(flags, io);
  try {
    return await command(app);
  } finally {
    app.close();
  }
}

/** `atomic-scrum status [run-id]`: one run's status table, or the list of runs. */
export function statusCommand(runId: string | undefined, flags: AppFlags, io: Io): number {
  const app = openApp(flags, io);
  try {
    if (runId) {
      const run = requireRun(app, runId);
      io.out(statusBody(app, run));
      return 0;
    }
    const runs = listRuns(app.db);
    if (runs.length === 0) io.out(`no runs yet in ${app.dbPath}`);
    for (const run of runs) {
      io.out(
        `${run.id}  ${run.pipelineName.padEnd(10)} ${run.state.status.padEnd(18)} #${run.issue.number} ${run.issue.title}`,
      );
    }
    return 0;
  } finally {
    app.close();
  }
}

function statusBody(app: LocalApp, run: RunRecord): string {
  return renderStatus({
    runId: run.id,
    pipeline: run.pipeline,
    state: run.state,
    attempts: listAttempts(app.db, run.id),
    hints: {
      resume: `atomic-scrum resume ${run.id}`,
      approve: `\`atomic-scrum approve ${run.id}\``,
      restart: "run `atomic-scrum run` on the issue again",
      retry: `run \`atomic-scrum retry ${run.id}\`, or \`atomic-scrum retry ${run.id} <phase>\` for an earlier phase`,
    },
  });
}

/** Runs the worker until the run waits or ends; a job in backoff within a minute is waited for. */
async function work(app: LocalApp, runId: string, io: Io): Promise<number> {
  if (releaseDeadLocalLeases(app.db, app.now()) > 0) io.out("  taking over from a worker that stopped");
  for (;;) {
    const { nextRunAt } = await app.worker.runUntilIdle({ group: runId });
    const run = requireRun(app, runId);
    const soon = nextRunAt !== undefined && nextRunAt - app.now() <= 60_000;
    if (run.state.status === "running" && soon) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, (nextRunAt ?? 0) - app.now())));
      continue;
    }
    for (const line of summaryLines({ state: run.state, run }, app.runsDir)) io.out(line);
    return run.state.status === "failed" ? 1 : 0;
  }
}
