import { existsSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { withEditPolicy } from "../forge/edit-policy.js";
import { loadPipelineFile } from "../pipeline/load-pipeline.js";
import { formatProblem } from "../pipeline/problem.js";
import { preflight, preflightMessage } from "../providers/preflight.js";
import type { Provider } from "../providers/provider.js";
import { readFixtures } from "../providers/recorded.js";
import { createProviderRegistry } from "../providers/registry.js";
import { breakerSettingsFrom, PROVIDER_NAMES, type ServerSettings } from "../providers/settings.js";
import { statusWords } from "../render/format.js";
import { renderStatus } from "../render/status-comment.js";
import { openDatabase } from "../store/database.js";
import {
  getRun,
  highestIssueNumber,
  listAttempts,
  listRuns,
  type ProviderChoice,
  type RunRecord,
} from "../store/runs.js";
import { resolvePipelinePath } from "./builtin.js";
import { runWorker } from "./dead-owners.js";
import { dryRun, printDryRun } from "./dry-run.js";
import { readIssueFile, withIssueNumber } from "./issue-file.js";
import { createLocalApp, type LocalApp, localDatabase, repositoryRoot } from "./local-app.js";
import { nextSteps } from "./next-steps.js";
import {
  keptSettingsNote,
  readSettings,
  sameSettings,
  settingsToPin,
  withoutSettings,
} from "./pinned-settings.js";
import { progressLines, summaryLines } from "./progress-view.js";
import {
  approveRun,
  CommandError,
  cancelRun,
  fastForward,
  noRun,
  requireRun,
  retryRun,
  startRun,
} from "./run-commands.js";
import { type InterruptTarget, work, workerText } from "./work-run.js";

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
  /** The process whose Ctrl-C (SIGINT) or SIGTERM stops a run cleanly; in-process callers pass none. */
  signals?: InterruptTarget;
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
 * Builds the local app. A run uses the provider and the settings it was started with (pinned on
 * the run, issue 12), so resuming with other flags, or without `--settings`, never switches models
 * or prices; the flags choose the provider and settings of new runs. `runId` names the run a
 * command is about: its database must exist already (nothing is created for a mistyped `--repo`),
 * and its pinned settings are the ones used.
 */
function openApp(
  flags: AppFlags,
  io: Io,
  about: { runId?: string; settings?: ServerSettings } = {},
): LocalApp {
  const { runId } = about;
  const fallback = providerChoice(flags);
  const pinned = runId === undefined ? undefined : pinnedChoice(flags, runId);
  // `settings`: read by the caller already (a new run's, or `retry`'s fixed file, which the run
  // takes from now on); otherwise the run's pinned ones, else the flags' file.
  const settings = about.settings ?? pinned?.settings ?? readSettings(flags.settings);
  const registry = createProviderRegistry({ settings, env: process.env, warn: (message) => io.err(message) });
  // Runs pinned before settings were (older databases) keep what the flags give.
  const choiceOf = (run: RunRecord): ProviderChoice => withoutSettings(run.provider ?? fallback);
  const providerFor = (run: RunRecord): Provider => {
    try {
      return registry.forChoice(choiceOf(run));
    } catch (error) {
      throw new CommandError(`run ${run.id}: ${(error as Error).message}`);
    }
  };
  return createLocalApp({
    repoDir: flags.repo,
    ...(flags.db ? { dbPath: flags.db } : {}),
    ...(runId === undefined
      ? {}
      : {
          missingDatabase: (dbPath: string) =>
            noRun(runId, dbPath, `atomic-scrum status${whereFlags(flags)}`),
        }),
    providerFor,
    price: registry.price,
    isPriced: registry.isPriced,
    judgeFor: (run, named) => {
      try {
        return registry.judgeFor(choiceOf(run), named);
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

/** `--repo`/`--db` as given, for a command printed before the app (and its hints) exists. */
function whereFlags(flags: AppFlags): string {
  const app = nextSteps({
    repoDir: flags.repo,
    ...(flags.db ? { dbPath: flags.db } : {}),
    cwd: process.cwd(),
  });
  return app.command().slice("atomic-scrum".length);
}

/**
 * The provider choice and settings pinned on `runId`, read before the app opens (its breaker and
 * daily budget come from them). A database that does not exist is not created: the run is not there.
 */
function pinnedChoice(flags: AppFlags, runId: string): ProviderChoice | undefined {
  const path = flags.db ? resolve(flags.db) : localDatabase(flags.repo);
  if (!existsSync(path)) throw noRun(runId, path, `atomic-scrum status${whereFlags(flags)}`);
  const db = openDatabase(path);
  try {
    return getRun(db, runId)?.provider;
  } finally {
    db.close();
  }
}

/**
 * The provider choice of a new run, with the settings pinned: the parsed content, not the path,
 * since the file may change or vanish before a resume. A `base_url` that carries a user, a
 * password or a key in its query would put a secret in the database, so it is refused.
 */
function pinnedNewChoice(flags: AppFlags, settings: ServerSettings): ProviderChoice {
  return { ...providerChoice(flags), ...settingsToPin(flags.settings, settings) };
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
  // Read once: the dry run, the preflight, the pinned choice, the app and the edit policy share it.
  const settings = readSettings(flags.settings);
  if (flags.dryRun) {
    const report = await dryRun({
      pipeline: loaded.pipeline,
      issue: withIssueNumber(issue, issueFile, dryRunIssueNumber(flags), io.err),
      repoDir: flags.repo,
      ...(flags.db ? { dbPath: flags.db } : {}),
      provider: flags.provider,
      ...(flags.fixtures ? { fixtures: resolve(flags.fixtures) } : {}),
      settings,
      env: process.env,
      now: Date.now(),
    });
    return { code: printDryRun(report, io) };
  }
  // Every setup mistake at once, before a run or its branch exists (issue 12, item 4).
  const choice = { name: flags.provider, ...(flags.fixtures ? { fixtures: resolve(flags.fixtures) } : {}) };
  const unready = preflight({
    choice,
    pipeline: loaded.pipeline,
    settings,
    env: process.env,
  });
  if (unready.length > 0) throw new CommandError(preflightMessage(unready));
  // Checked before the app opens: a settings file that would store a secret creates nothing.
  const provider = pinnedNewChoice(flags, settings);
  const app = openApp(flags, io, { settings });
  try {
    const numbered = withIssueNumber(issue, issueFile, highestIssueNumber(app.db, app.repo) + 1, io.err);
    const run = startRun(app, {
      // Pinned with the run like the pipeline: a resume with another settings file keeps it.
      pipeline: withEditPolicy(loaded.pipeline, settings.edits),
      hash: loaded.hash,
      pipelinePath: path,
      issue: numbered,
      provider,
    });
    io.out(
      `atomic-scrum · ${run.pipelineName} · run ${run.id} · issue #${numbered.number} "${numbered.title}"`,
    );
    return { code: await work(app, run.id, io, flags.signals), runId: run.id };
  } finally {
    app.close();
  }
}

/**
 * The number a dry run gives an issue file without one: the one a run would take now. Read-only,
 * as the dry run reads its history: a dry run writes nothing, so a database an older atomic-scrum
 * wrote is not migrated here (migration 7 drops the old breakers). A database that cannot be read
 * gives 1: the dry run says what is wrong with it itself.
 */
function dryRunIssueNumber(flags: AppFlags): number {
  let db: BetterSqlite3.Database | undefined;
  try {
    const path = flags.db ? resolve(flags.db) : localDatabase(flags.repo);
    if (!existsSync(path) || statSync(path).isDirectory()) return 1;
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    return highestIssueNumber(db, { owner: "local", name: basename(repositoryRoot(flags.repo)) }) + 1;
  } catch {
    return 1; // not a git repository, not a database, no runs table: the dry run says so itself
  } finally {
    db?.close();
  }
}

/** `atomic-scrum resume <run-id>`: continues a run after a cooldown, a crash or a stop. */
export function resumeCommand(runId: string, flags: AppFlags, io: Io): Promise<number> {
  return withRun(runId, flags, io, async (app, run) => {
    // A `run` in another terminal still working on it: there is nothing to resume, and waiting
    // for its lease in silence would look like a hang (issue 12, item 8).
    const worker = runWorker(app.db, run.id, app.now());
    if (worker.kind === "alive" && worker.pid !== process.pid) {
      throw new CommandError(
        `run ${run.id} is being worked on by another command (pid ${worker.pid}), so there is nothing to resume: wait for it, or stop it (Ctrl-C there) and resume then; \`${app.steps.command("status", run.id)}\` shows where it stands`,
      );
    }
    if (run.state.status === "waiting" && (run.state.waitUntil ?? 0) > app.now()) {
      if (flags.wait) {
        for (const line of summaryLines({ state: run.state, run }, app)) io.out(line);
        return 0;
      }
      fastForward(app, run);
    }
    return await work(app, runId, io, flags.signals);
  });
}

/** `atomic-scrum approve <run-id>`: the local human review. */
export function approveCommand(runId: string, by: string, flags: AppFlags, io: Io): Promise<number> {
  return withRun(runId, flags, io, (app, run) => {
    approveRun(app, run, by);
    return work(app, runId, io, flags.signals);
  });
}

/** `atomic-scrum cancel <run-id>`. */
export function cancelCommand(runId: string, by: string, flags: AppFlags, io: Io): Promise<number> {
  return withRun(runId, flags, io, (app, run) => {
    cancelRun(app, run, by);
    return work(app, runId, io, flags.signals);
  });
}

/**
 * `atomic-scrum retry <run-id> [phase]`: sends a failed run back where it stopped (or to `phase`)
 * in a new round, then works it, like `/retry` on GitHub. A command of its own, not `resume`:
 * resume only continues what is under way and is safe to type at any time, while a retry starts
 * new attempts that cost tokens, so it should be asked for by name. It is also how a run takes
 * new settings: a run that failed on a setting (a daily budget, a price) is retried once the
 * setting is fixed, so the settings file (`--settings`, else the one the run started with, edited
 * in place) is read again and, when it changed, pinned on the run from this round on.
 */
export async function retryCommand(
  runId: string,
  phase: string | undefined,
  by: string,
  flags: AppFlags,
  io: Io,
): Promise<number> {
  const started = pinnedChoice(flags, runId);
  const file = flags.settings ?? started?.settingsFile;
  const changed =
    file !== undefined &&
    (flags.settings !== undefined || existsSync(file)) &&
    !(started?.settings && sameSettings(file, started.settings));
  const fresh = changed ? readSettings(file) : undefined;
  const app = openApp(flags, io, { runId, ...(fresh ? { settings: fresh } : {}) });
  try {
    const run = requireRun(app, runId);
    const repin = fresh
      ? { ...withoutSettings(run.provider ?? providerChoice(flags)), ...settingsToPin(file, fresh) }
      : undefined;
    retryRun(app, runId, phase, by, repin);
    if (repin) io.err(`run ${runId} uses the settings of ${repin.settingsFile} from this retry on`);
    return await work(app, runId, io, flags.signals);
  } finally {
    app.close();
  }
}

/** Opens the app for one command about an existing run, and closes it whatever happens. */
async function withRun<T>(
  runId: string,
  flags: AppFlags,
  io: Io,
  command: (app: LocalApp, run: RunRecord) => T | Promise<T>,
): Promise<T> {
  const app = openApp(flags, io, { runId });
  try {
    const run = requireRun(app, runId);
    const note = keptSettingsNote(run, flags.settings, (file) =>
      file === run.provider?.settingsFile
        ? app.steps.command("retry", run.id)
        : app.steps.command("retry", run.id, "--settings", file),
    );
    if (note) io.err(note);
    return await command(app, run);
  } finally {
    app.close();
  }
}

/** `atomic-scrum status [run-id]`: one run's status table, or the list of runs. */
export function statusCommand(runId: string | undefined, flags: AppFlags, io: Io): number {
  if (runId === undefined) {
    // Listing creates nothing either: a directory without runs, or a mistyped --db, has no
    // database to show, and must not be left one.
    const path = flags.db ? resolve(flags.db) : localDatabase(flags.repo);
    if (isMissing(path)) {
      io.out(`no runs yet in ${path}`);
      return 0;
    }
  }
  const app = openApp(flags, io, runId === undefined ? {} : { runId });
  try {
    if (runId) {
      const run = requireRun(app, runId);
      io.out(statusBody(app, run));
      return 0;
    }
    const runs = listRuns(app.db);
    if (runs.length === 0) io.out(`no runs yet in ${app.dbPath}`);
    for (const run of runs) {
      const status =
        run.state.status === "running" && isInterrupted(app, run)
          ? "interrupted"
          : statusWords(run.state.status);
      io.out(
        `${run.id}  ${run.pipelineName.padEnd(10)} ${status.padEnd(20)} #${run.issue.number} ${run.issue.title}`,
      );
    }
    return 0;
  } finally {
    app.close();
  }
}

/** No file at `path`; a path that cannot be one (under a file) is left to the database's own error. */
function isMissing(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

function isInterrupted(app: LocalApp, run: RunRecord): boolean {
  return runWorker(app.db, run.id, app.now()).kind === "gone";
}

function statusBody(app: LocalApp, run: RunRecord): string {
  return renderStatus({
    runId: run.id,
    pipeline: run.pipeline,
    state: run.state,
    attempts: listAttempts(app.db, run.id),
    hints: {
      resume: app.steps.resume(run.id),
      approve: app.steps.approve(run.id),
      restart: app.steps.restart(run.id),
      retry: app.steps.retry(run.id),
      running: workerText(app, run),
    },
  });
}
