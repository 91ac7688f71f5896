import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Database } from "better-sqlite3";
import type { Forge } from "../forge/forge.js";
import { createLocalForge } from "../forge/local/local-forge.js";
import { removeStaleTempFiles } from "../forge/local/remove-stale-temp.js";
import type { Provider } from "../providers/provider.js";
import { openDatabase } from "../store/database.js";
import type { RunRecord } from "../store/runs.js";
import { createWorker, type WorkerOptions } from "../worker/worker.js";
import { nextSteps } from "./next-steps.js";
import { CommandError } from "./run-commands.js";

export interface LocalAppOptions {
  repoDir: string;
  dbPath?: string;
  /** The provider for a run; the CLI builds it from the choice pinned on the run. */
  providerFor: (run: RunRecord) => Provider;
  /** What a call cost in USD (the price table); offline providers cost nothing by default. */
  price?: WorkerOptions["price"];
  /** Whether a model can be priced: a run with a cost limit refuses a call that cannot. */
  isPriced?: WorkerOptions["isPriced"];
  /** Who grades a run's work (another model family by default); the run's provider when not given. */
  judgeFor?: WorkerOptions["judgeFor"];
  breaker?: WorkerOptions["breaker"];
  /** Most all runs in this database may spend per UTC day. */
  dailyMaxCostUsd?: number;
  fastForwardWaits?: boolean;
  onProgress?: WorkerOptions["onProgress"];
  now?: () => number;
  hooks?: WorkerOptions["hooks"];
  leaseMs?: number;
  /** Lease owner name; defaults to `host:pid:nonce`, which lets a later process see this one died. */
  owner?: string;
  /** The directory the command runs in: printed commands name `--repo` when it is not the repository. */
  cwd?: string;
  /**
   * For commands about an existing run: a database that does not exist yet is not created, and
   * the error this returns is thrown instead (a mistyped `--repo` must leave nothing behind).
   */
  missingDatabase?: (dbPath: string) => Error;
}

/**
 * Where local runs keep their database and run folders: inside the repository's git directory,
 * which no checkout ever writes and no model edit may touch (`.git/` is refused), so a branch that
 * tracks a file of the same name cannot overwrite or delete the state.
 */
export function stateDir(repoDir: string): string {
  // git's own "fatal: not a git repository" stays out of the output: callers say it in one line.
  const gitDir = execFileSync("git", ["rev-parse", "--git-common-dir"], {
    cwd: repoDir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
  return join(resolve(repoDir, gitDir), "atomic-scrum");
}

/**
 * The repository `dir` is in: its work tree's top folder as git resolves it (symlinks too), so a
 * command started in a subfolder, or through a symlink, works on the same repository, with the
 * same name, as one started at the top: one run per (issue, pipeline) holds across them, and
 * no two runs share a branch. A directory without a work tree (a bare repository) is itself.
 */
export function repositoryRoot(dir: string): string {
  const resolved = resolve(dir);
  try {
    const top = execFileSync("git", ["rev-parse", "--show-toplevel"], {
      cwd: resolved,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return top || resolved;
  } catch {
    return resolved;
  }
}

/** The default database of a local repository; a directory that is not a git repository is refused. */
export function localDatabase(repo: string): string {
  try {
    return join(stateDir(resolve(repo)), "atomic-scrum.db");
  } catch {
    // Not "or --db FILE": every local command works in a git repository, a --db one included.
    throw new CommandError(
      `${resolve(repo)} is not a git repository: pass --repo DIR, the repository the runs are in`,
    );
  }
}

/**
 * The composition root of a local run: one git repository, one SQLite file, one worker. The
 * only place that builds the pieces; everything below receives them.
 */
export function createLocalApp(options: LocalAppOptions) {
  checkGitRepository(resolve(options.repoDir));
  const repoDir = repositoryRoot(options.repoDir);
  const dir = stateDir(repoDir);
  const dbPath = options.dbPath ? resolve(options.dbPath) : join(dir, "atomic-scrum.db");
  if (options.missingDatabase && !existsSync(dbPath)) throw options.missingDatabase(dbPath);
  const db: Database = openDatabase(dbPath);
  // A process killed mid-write leaves temp files (issue 11): whoever starts next clears those
  // whose owner is gone. A concurrent process's files carry its live pid and are kept.
  removeStaleTempFiles({ runsDir: join(dir, "runs") });
  const forge: Forge = createLocalForge({ repoDir, runsDir: join(dir, "runs") });
  const now = options.now ?? Date.now;
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const steps = nextSteps({
    repoDir,
    ...(options.dbPath ? { dbPath } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const worker = createWorker({
    db,
    forgeFor: () => forge,
    providerFor: options.providerFor,
    now,
    owner,
    leaseMs: options.leaseMs ?? 60_000,
    price: options.price ?? (() => 0),
    ...(options.isPriced ? { isPriced: options.isPriced } : {}),
    ...(options.judgeFor ? { judgeFor: options.judgeFor } : {}),
    ...(options.breaker ? { breaker: options.breaker } : {}),
    ...(options.dailyMaxCostUsd === undefined ? {} : { dailyMaxCostUsd: options.dailyMaxCostUsd }),
    contextLimits: { maxFiles: 40, maxBytes: 200_000 },
    allowWorkflows: false,
    fastForwardWaits: options.fastForwardWaits ?? false,
    hints: steps,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  return {
    db,
    forge,
    worker,
    now,
    repoDir,
    dbPath,
    owner,
    /** The commands this app prints, with the `--repo`/`--db` they need to work where pasted. */
    steps,
    runsDir: join(dir, "runs"),
    repo: { owner: "local", name: basename(repoDir), defaultBranch: currentBranch(repoDir) },
    close: () => db.close(),
  };
}

export type LocalApp = ReturnType<typeof createLocalApp>;

function checkGitRepository(repoDir: string): void {
  try {
    execFileSync("git", ["rev-parse", "--git-dir"], { cwd: repoDir, stdio: "ignore" });
  } catch {
    throw new Error(`${repoDir} is not a git repository: run \`git init\` there, or pass --repo DIR`);
  }
}

function currentBranch(repoDir: string): string {
  try {
    return execFileSync("git", ["symbolic-ref", "--short", "HEAD"], {
      cwd: repoDir,
      encoding: "utf8",
    }).trim();
  } catch {
    return "main";
  }
}
