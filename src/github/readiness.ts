import { createPrivateKey } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Database } from "../store/database.js";
import { nextRunAt } from "../store/queue.js";
import type { LoopStatus } from "../worker/loop.js";
import type { AppEnv } from "./read-probot-env.js";

/** One check of `GET /ready`: "ok", or what is wrong in words fit for anyone (never a secret). */
export type Check = () => string;

/** The answer of `GET /ready`. */
export interface Readiness {
  ready: boolean;
  /** The names of the checks that are not "ok". */
  failed: string[];
  checks: Record<string, string>;
}

/**
 * How long past its poll a sleeping worker loop may go without beating. A sleep ends within
 * `pollMs`; the margin is for a busy event loop (a large webhook being parsed, a git pack).
 */
export const STALE_AFTER_POLL_MS = 30_000;

/** The text of the one check setup mode has: there is nothing to work with yet. */
export const SETUP_MODE =
  "setup mode: the app is not registered yet; open this server's / page to register it, then restart";

/** Runs every check; one that throws (none should) counts as failed. */
export function readiness(checks: Record<string, Check>): Readiness {
  const results: Record<string, string> = {};
  for (const [name, check] of Object.entries(checks)) {
    try {
      results[name] = check();
    } catch {
      results[name] = "the check could not run";
    }
  }
  const failed = Object.keys(results).filter((name) => results[name] !== "ok");
  return { ready: failed.length === 0, failed, checks: results };
}

/**
 * Credentials Probot can work with: a numeric APP_ID, an RSA private key Node can load (the
 * JWT for installation tokens is signed with it) and a webhook secret. readProbotEnv already
 * refused to start without them; this says so once more, where a health check can see it.
 */
export function credentialsCheck(env: Pick<AppEnv, "appId" | "privateKey" | "secret">): Check {
  let result: string;
  try {
    const key = createPrivateKey(env.privateKey);
    result =
      !Number.isInteger(env.appId) || env.appId < 1
        ? "APP_ID is not a GitHub App id"
        : env.secret.trim() === ""
          ? "WEBHOOK_SECRET is empty"
          : key.asymmetricKeyType !== "rsa"
            ? "the private key is not an RSA key"
            : "ok";
  } catch {
    result = "the private key does not load";
  }
  // The key does not change while the server runs: parsed once, not on every probe.
  return () => result;
}

/** The store answers a real query on the queue the worker claims from. */
export function databaseCheck(db: Database): Check {
  return () => {
    if (!db.open) return "the database is closed";
    try {
      nextRunAt(db);
      return "ok";
    } catch (error) {
      // SQLite's message can name the file; the code says enough to look in the log.
      const code = (error as { code?: unknown }).code;
      return `the database does not answer a query (${typeof code === "string" ? code : "error"})`;
    }
  };
}

/**
 * The worker loop goes: started, not stopped, not ended, and a sleeping loop beat within its poll
 * (plus {@link STALE_AFTER_POLL_MS}). A pass at work has no limit: one phase may rightly take many
 * minutes (a model call, an agent), and its job's lease shows another worker if it dies.
 */
export function workerCheck(status: () => LoopStatus | undefined, now: () => number): Check {
  return () => {
    const loop = status();
    if (!loop) return "the worker has not started";
    if (loop.state === "stopped") return "the worker is stopping: the server is shutting down";
    if (loop.state === "ended") return "the worker loop ended; restart the server";
    const quiet = now() - loop.beatAt;
    if (loop.state === "sleeping" && quiet > loop.pollMs + STALE_AFTER_POLL_MS)
      return `the worker has not polled for ${Math.round(quiet / 1000)} s (it polls every ${Math.round(loop.pollMs / 1000)} s); restart the server`;
    return "ok";
  };
}

/** What the readiness route logs: only when the answer changes, not at every probe. */
export interface ReadinessLog {
  info: (fields: Record<string, unknown>, message: string) => void;
  warn: (fields: Record<string, unknown>, message: string) => void;
}

/**
 * `GET /ready` (and HEAD): 200 with the checks when every one is "ok", else 503 naming the failed
 * ones. `GET /ping` stays the liveness check: it answers as long as the process does.
 */
export function readyRoute(checks: Record<string, Check>, log?: ReadinessLog) {
  let last: string | undefined;
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if ((req.method !== "GET" && req.method !== "HEAD") || req.url?.split("?")[0] !== "/ready") return false;
    const answer = readiness(checks);
    const seen = answer.failed.join(",");
    if (last !== undefined && seen !== last) {
      if (answer.ready) log?.info({ checks: answer.checks }, "ready again");
      else log?.warn({ failed: answer.failed, checks: answer.checks }, "not ready");
    } else if (last === undefined && !answer.ready) log?.warn({ failed: answer.failed }, "not ready");
    last = seen;
    const text = JSON.stringify(answer);
    res
      .writeHead(answer.ready ? 200 : 503, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
        "cache-control": "no-store",
      })
      .end(text);
    return true;
  };
}
