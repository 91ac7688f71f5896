import type { ApplicationFunction } from "probot";
import type { ServerSettings } from "../providers/settings.js";
import type { Database } from "../store/database.js";
import { handleCheckSuite } from "./handle-check-suite.js";
import { handleComment } from "./handle-comment.js";
import { handleIssueClosed } from "./handle-issue-closed.js";
import { handleLabeled } from "./handle-labeled.js";
import { handlePullClosed } from "./handle-pull-closed.js";
import { handleReview } from "./handle-review.js";
import { type GitHubStartInput, type StartOutcome, startGitHubRun } from "./start-run.js";

export interface AtomicScrumAppDeps {
  /** The store; the app opens nothing itself. */
  db: Database;
  /** Clock in epoch milliseconds. */
  now: () => number;
  /**
   * Creates the run and queues its start in one transaction. Defaults to `startGitHubRun` on
   * `db`; the composition root may wrap it (to wake the worker, say).
   */
  startRun?: (input: GitHubStartInput) => StartOutcome;
  /** The app's slug, when known, so its own `<slug>[bot]` events are ignored by name too. */
  appSlug?: string;
  /** The GitHub App's id, when known: its own check suites never wake a run waiting for CI. */
  appId?: number;
  /** Providers the server can run, so a config asking for another is answered at once. */
  providers?: readonly string[];
  /** Wakes the worker after a handler queued work for a run (a cancellation, say). */
  wake?: () => void;
  /** The server settings: `/dry-run` prices its forecast and routes past breakers with them. */
  settings?: ServerSettings;
}

/**
 * The Probot face of Atomic Scrum: verifies (Probot checks the signature), dedupes, checks
 * permission and enqueues. Load it with `probot.load(createAtomicScrumApp(deps))` or
 * `createNodeMiddleware(createAtomicScrumApp(deps), { probot })`.
 */
export function createAtomicScrumApp(deps: AtomicScrumAppDeps): ApplicationFunction {
  const startRun = deps.startRun ?? ((input: GitHubStartInput) => startGitHubRun(deps.db, deps.now(), input));
  const labeledDeps = {
    db: deps.db,
    now: deps.now,
    startRun,
    ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
    ...(deps.providers ? { providers: deps.providers } : {}),
  };
  return (app) => {
    app.on("issues.labeled", async (context) => {
      await handleLabeled(context, labeledDeps);
    });
    // Only `created`: an edited comment is never run again (docs/commands.md).
    app.on("issue_comment.created", async (context) => {
      await handleComment(context, {
        db: deps.db,
        now: deps.now,
        ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
        ...(deps.wake ? { wake: deps.wake } : {}),
        ...(deps.settings ? { settings: deps.settings } : {}),
      });
    });
    app.on("issues.closed", async (context) => {
      await handleIssueClosed(context, {
        db: deps.db,
        now: deps.now,
        ...(deps.wake ? { wake: deps.wake } : {}),
      });
    });
    app.on("pull_request.closed", async (context) => {
      handlePullClosed(context, { db: deps.db, now: deps.now, ...(deps.wake ? { wake: deps.wake } : {}) });
    });
    // The checks gate: a suite of another app completed on the commit a run waits on (docs/gates.md).
    app.on("check_suite.completed", async (context) => {
      handleCheckSuite(context, {
        db: deps.db,
        now: deps.now,
        ...(deps.appId === undefined ? {} : { appId: deps.appId }),
        ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
        ...(deps.wake ? { wake: deps.wake } : {}),
      });
    });
    // The human approval gate: reviews and new commits on a run's pull request (docs/commands.md).
    app.on(
      ["pull_request_review.submitted", "pull_request_review.dismissed", "pull_request.synchronize"],
      async (context) => {
        await handleReview(context, {
          db: deps.db,
          now: deps.now,
          ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
          ...(deps.wake ? { wake: deps.wake } : {}),
        });
      },
    );
  };
}
