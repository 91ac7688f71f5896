import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { parseEnv } from "node:util";
import { type ApplicationFunction, type Probot, run as runProbot } from "probot";
import { TERMINAL } from "./engine/transition.js";
import type { Forge } from "./forge/forge.js";
import { createGitHubForge } from "./forge/github/github-forge.js";
import { lazyForge } from "./forge/lazy-forge.js";
import { createAtomicScrumApp } from "./github/app.js";
import { checkSetupMode, startAppServer, startSetupServer } from "./github/app-server.js";
import { AtomicScrumOctokit, RateLimitGate } from "./github/octokit.js";
import { repoRole } from "./github/permissions.js";
import { roleAdmits } from "./github/plan-commands.js";
import { readListenEnv, readLogEnv, readProbotEnv } from "./github/read-probot-env.js";
import { credentialsCheck, databaseCheck, workerCheck } from "./github/readiness.js";
import { startGitHubRun } from "./github/start-run.js";
import { preflight } from "./providers/preflight.js";
import type { Provider } from "./providers/provider.js";
import { createProviderRegistry, OPENAI_BASE_URL_VARIABLE } from "./providers/registry.js";
import {
  breakerSettingsFrom,
  defaultServerSettings,
  loadServerSettings,
  type ServerSettings,
} from "./providers/settings.js";
import type { Database } from "./store/database.js";
import { openDatabase } from "./store/database.js";
import type { RunRecord } from "./store/runs.js";
import { startWorkerLoop, type WorkerLoop } from "./worker/loop.js";
import { createWorker, type Worker } from "./worker/worker.js";

export interface ServeOptions {
  /** The SQLite file for runs and the queue. */
  dbPath: string;
  /**
   * Probot's environment (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, PORT, GHE_HOST...), the model API
   * keys, and ATOMIC_SCRUM_SETTINGS (the server settings file).
   */
  env: NodeJS.ProcessEnv;
}

export interface AppParts {
  /** The Probot application function: give it to Probot's `run`, `load` or `createNodeMiddleware`. */
  appFn: ApplicationFunction;
  worker: Worker;
  /** Starts the background loop (serve); tests drive `worker.runUntilIdle()` themselves instead. */
  startLoop: () => WorkerLoop;
}

/**
 * Builds the GitHub App's pieces around one database: the Probot app function, and a worker whose
 * forges use the Probot instance the app function was loaded into (for installation tokens).
 */
export function buildGitHubApp(options: {
  db: Database;
  now?: () => number;
  owner?: string;
  /** The app's id: the forge then trusts only comments this app made. */
  appId?: number;
  /** Server settings (providers, prices, breaker, daily budget); defaults when not given. */
  settings?: ServerSettings;
  /** Where API keys come from (`process.env` in production). */
  env?: NodeJS.ProcessEnv;
}): AppParts {
  const { db } = options;
  const now = options.now ?? Date.now;
  const settings = options.settings ?? defaultServerSettings();
  const registry = createProviderRegistry({
    settings,
    env: options.env ?? {},
    warn: (message) => probot?.log.warn(message),
  });
  let probot: Probot | undefined;
  let loop: WorkerLoop | undefined;

  const forges = new Map<string, Forge>();
  // One per process: a rate limit on one run's request holds back every run of that installation.
  const rateLimits = new RateLimitGate(now);
  const forgeFor = (run: RunRecord): Forge => {
    const known = forges.get(run.id);
    if (known) return known;
    const installationId = run.repo.installationId;
    const app = probot;
    if (!app || installationId === undefined)
      throw new Error(`run ${run.id} has no GitHub installation to work in`);
    const forge = lazyForge(async () =>
      createGitHubForge({
        octokit: rateLimits.guard(await app.auth(installationId), installationId),
        owner: run.repo.owner,
        repo: run.repo.name,
        issueNumber: run.issue.number,
        title: `${run.issue.title} (#${run.issue.number})`,
        branch: run.branch,
        ...(options.appId === undefined ? {} : { appId: options.appId }),
        ...pipelineLink(run),
      }),
    );
    forges.set(run.id, forge);
    return forge;
  };

  // The offline providers need no configuration; a real one is offered once its key is set.
  const providerFor = (run: RunRecord): Provider => registry.forChoice(run.provider ?? { name: "simulated" });

  const worker = createWorker({
    db,
    forgeFor,
    providerFor,
    now,
    owner: options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
    price: registry.price,
    isPriced: registry.isPriced,
    judgeFor: (run, named) => registry.judgeFor(run.provider ?? { name: "simulated" }, named),
    breaker: breakerSettingsFrom(settings),
    ...(settings.budget.daily_max_cost_usd === undefined
      ? {}
      : { dailyMaxCostUsd: settings.budget.daily_max_cost_usd }),
    contextLimits: { maxFiles: 40, maxBytes: 200_000 },
    allowWorkflows: false,
    hints: {
      resume: () => "the app resumes it by itself; `/resume` (maintain or admin) ends it now",
      approve: () => "an approving review of the pull request",
      restart: () => "remove the pipeline's label from the issue and add it again",
      retry: () => "comment `/retry` (write access), or `/retry <phase>` for an earlier phase",
    },
    // A slash command's author is checked again right before its event applies.
    authorize: async (run, steer) => {
      const app = probot;
      const installationId = run.repo.installationId;
      // No client yet is not a refusal: the job fails and is tried again.
      if (!app || installationId === undefined)
        throw new Error(`run ${run.id} has no GitHub installation to check @${steer.login}'s role with`);
      // Behind the same gate as the forges: a rate limit here puts the job off too.
      const octokit = rateLimits.guard(await app.auth(installationId), installationId);
      const role = await repoRole(octokit, run.repo.owner, run.repo.name, steer.login);
      return roleAdmits(role, steer.needs);
    },
    warn: (message) => probot?.log.warn(message),
    onProgress: ({ runId, event, state }) => {
      // A failed job may have left the forge's caches behind GitHub (a write whose answer was
      // lost), and an ended run needs no forge: either way the next use starts fresh.
      if (event.type === "job.failed" || TERMINAL.has(state.status)) forges.delete(runId);
      const log = probot?.log;
      if (!log) return;
      const fields = { runId, event: event.type, status: state.status };
      if (event.type === "run.aborted" || event.type === "job.failed")
        log.warn({ ...fields, reason: "reason" in event ? event.reason : event.error }, "run trouble");
      else if (state.status === "failed") log.warn({ ...fields, reason: state.reason }, "run failed");
      else log.info(fields, "run progress");
    },
  });

  const appFn: ApplicationFunction = (app, appOptions) => {
    probot = app;
    const startRun = (input: Parameters<typeof startGitHubRun>[2]) => {
      const outcome = startGitHubRun(db, now(), input);
      loop?.wake();
      return outcome;
    };
    return createAtomicScrumApp({
      db,
      now,
      startRun,
      providers: registry.available().filter((name) => name !== "recorded"),
      preflight: (run) =>
        preflight({ choice: run.provider, pipeline: run.pipeline, settings, env: options.env ?? {} }),
      wake: () => loop?.wake(),
      settings: dryRunSettings(settings, options.env ?? {}),
      ...(options.appId === undefined ? {} : { appId: options.appId }),
    })(app, appOptions);
  };
  const startLoop = () => {
    loop ??= startWorkerLoop(worker, {
      now,
      onError: (error) => probot?.log.error({ err: error }, "worker pass failed"),
    });
    return loop;
  };
  return { appFn, worker, startLoop };
}

/** A pipeline kept in the repository is linked from the PR (the file on the default branch; the run itself stays pinned to the content it started with). */
function pipelineLink(run: RunRecord): { pipelineUrl?: string } {
  const path = run.pipelinePath;
  const repoUrl = /^(https?:\/\/[^/]+\/[^/]+\/[^/]+)\/issues\/\d+$/.exec(run.issue.url)?.[1];
  if (!path || !/\.ya?ml$/.test(path) || !repoUrl) return {};
  return {
    pipelineUrl: `${repoUrl}/blob/${encodeURIComponent(run.repo.defaultBranch)}/${path.split("/").map(encodeURIComponent).join("/")}`,
  };
}

/** The variables of a `.env` file, or none when there is no such file. */
function readDotEnv(file: string): Record<string, string> {
  try {
    return parseEnv(readFileSync(file, "utf8")) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** The HTTP side of a running `atomic-scrum serve`. */
export interface ServedServer {
  /** Where webhooks are received (PORT; a free one when PORT is 0). */
  readonly port: number;
  readonly host: string;
  stop: () => Promise<void>;
}

/** A running `atomic-scrum serve`. */
export interface Served {
  /** The webhook server; in setup mode, Probot's own (its setup pages). */
  server: ServedServer;
  /** The worker loop; none in setup mode, where no run can be worked. */
  readonly loop: WorkerLoop | undefined;
  /**
   * Stops taking webhooks, lets the worker finish the effect it is on, then closes the database.
   * A phase cut short by a harder stop is safe too: its job's lease expires and it is done again.
   */
  stop: () => Promise<void>;
}

/**
 * The composition root of `atomic-scrum serve`: one SQLite file, the webhook server and a worker
 * loop, in one process. Probot's settings (APP_ID, PRIVATE_KEY, GHE_HOST for GitHub Enterprise
 * Server...) are checked before anything starts, and a wrong one stops it naming the variable.
 * With no credentials at all Probot's setup flow registers the app from `app.yml`.
 */
export async function serve(options: ServeOptions): Promise<Served> {
  // Probot copies .env into process.env when it starts, its values winning. Do the same first, so
  // the checks below and the settings file see what Probot will (APP_ID only in .env, say).
  if (options.env === process.env) Object.assign(process.env, readDotEnv(resolve(".env")));
  const probotEnv = readProbotEnv(options.env, process.cwd());
  const listen = probotEnv.mode === "app" ? probotEnv : readListenEnv(options.env);
  readLogEnv(options.env);
  if (probotEnv.mode === "setup") checkSetupMode(listen, process.cwd());
  const dbPath = resolve(options.dbPath);
  mkdirSync(dirname(dbPath), { recursive: true });
  // A bad settings file stops the server before it takes a webhook, with every problem listed.
  const settings = loadServerSettings(options.env.ATOMIC_SCRUM_SETTINGS);
  const db = openDatabase(dbPath);
  const parts = buildGitHubApp({
    db,
    settings,
    env: options.env,
    ...(probotEnv.mode === "app" ? { appId: probotEnv.appId } : {}),
  });
  // The loop starts when Probot loads the app: in setup mode (no credentials) it never does,
  // so stored runs are not failed for want of an installation token.
  let loop: WorkerLoop | undefined;
  const appFn: ApplicationFunction = (app, appOptions) => {
    const loaded = parts.appFn(app, appOptions);
    loop = parts.startLoop();
    return loaded;
  };
  // Rate limits and lost answers to writes are the worker's to handle (src/github/octokit.ts).
  let server: ServedServer;
  try {
    server =
      probotEnv.mode === "app"
        ? await startAppServer({
            appFn,
            env: probotEnv,
            rawEnv: options.env,
            Octokit: AtomicScrumOctokit,
            ready: () => ({
              credentials: credentialsCheck(probotEnv),
              database: databaseCheck(db),
              worker: workerCheck(() => loop?.status(), Date.now),
            }),
          })
        : await startSetupServer({
            listen,
            rawEnv: options.env,
            Octokit: AtomicScrumOctokit,
            run: () => runProbot(appFn, { env: options.env, Octokit: AtomicScrumOctokit }),
          });
  } catch (error) {
    await loop?.stop();
    db.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    server,
    get loop() {
      return loop;
    },
    stop: () => {
      stopping ??= (async () => {
        // The worker first: webhooks still arriving while it finishes its effect are queued
        // (durably) for the next start, rather than refused and lost.
        await loop?.stop();
        await server.stop();
        db.close();
      })();
      return stopping;
    },
  };
}

/**
 * The settings `/dry-run` prices with: the server's own, with the OpenAI-compatible address the
 * environment gives when the file names none, as the registry of real runs reads it. Without it a
 * local model (a loopback address, priced at $0 in a run) was forecast as having no price.
 */
function dryRunSettings(settings: ServerSettings, env: NodeJS.ProcessEnv): ServerSettings {
  const url = env[OPENAI_BASE_URL_VARIABLE];
  const own = settings.providers["openai-compatible"];
  if (url === undefined || own?.base_url !== undefined) return settings;
  return {
    ...settings,
    providers: { ...settings.providers, "openai-compatible": { ...own, base_url: url } },
  };
}
