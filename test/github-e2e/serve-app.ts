import { buildGitHubApp } from "../../src/app.js";
import { type Database, openDatabase } from "../../src/store/database.js";
import type { Worker } from "../../src/worker/worker.js";
import { serveProbot } from "../helpers/probot-server.js";

/** What `serve` would read from its environment, for tests that need it: the app's id, model servers. */
export interface ServeExtras {
  /** APP_ID: the app then knows its own comments, check runs and suites by id (Probot's is 1 here). */
  appId?: number;
  /** Where API keys and model server URLs come from. */
  env?: NodeJS.ProcessEnv;
  /** The Octokit class Probot builds clients from, and whether plugin-retry stays on (off by default). */
  client?: Parameters<typeof serveProbot>[2];
}

export interface ServedApp {
  db: Database;
  worker: Worker;
  /** POSTs a webhook the way GitHub does, signed with the app's secret. */
  deliver: (payload: unknown, options?: { id?: string; event?: string }) => Promise<Response>;
  /** Stops the server and closes the database: what a process exit leaves behind is the file. */
  close: () => Promise<void>;
}

/**
 * One "process" of `atomic-scrum serve`: a new Probot, `buildGitHubApp` over the SQLite file at
 * `dbPath`, served by Probot's real middleware on a free port. Two calls on the same file are a
 * restart. Probot's retry and throttling plugins are off: a 502 then reaches the worker at once
 * (the retry plugin would hide the fault we inject), and writes are not spaced out by seconds.
 */
export async function serveApp(
  options: {
    dbPath: string;
    now: () => number;
    owner: string;
  } & ServeExtras,
): Promise<ServedApp> {
  const db = openDatabase(options.dbPath);
  const { dbPath: _path, client, ...rest } = options;
  const parts = buildGitHubApp({ db, ...rest });
  const served = await serveProbot(parts.appFn, `${options.owner}-delivery`, client);
  return {
    db,
    worker: parts.worker,
    deliver: served.deliver,
    close: async () => {
      await served.close();
      db.close();
    },
  };
}
