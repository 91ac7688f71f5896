import type { ApplicationFunction, Context } from "probot";
import type { ServerSettings } from "../providers/settings.js";
import type { Database } from "../store/database.js";
import { handleCheckSuite } from "./handle-check-suite.js";
import { handleComment } from "./handle-comment.js";
import { handleIssueClosed } from "./handle-issue-closed.js";
import { handleLabeled, type LabeledDeps } from "./handle-labeled.js";
import { handlePullClosed } from "./handle-pull-closed.js";
import { handleReview } from "./handle-review.js";
import type { HandledEvent } from "./payload-schemas.js";
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
  /** What stops a run before it is created (keys, prices, addresses): answered on the issue instead. */
  preflight?: LabeledDeps["preflight"];
  /** Wakes the worker after a handler queued work for a run (a cancellation, say). */
  wake?: () => void;
  /** The server settings: `/dry-run` prices its forecast and routes past breakers with them. */
  settings?: ServerSettings;
}

/**
 * The Probot face of Atomic Scrum: dedupes, checks permission and enqueues. `atomic-scrum serve`
 * puts it behind src/github/webhook-endpoint.ts, which checks the signature, the event name and
 * the payload fields (src/github/payload-schemas.ts) first; loaded any other way
 * (`probot.load`, `createNodeMiddleware`), payloads reach the handlers unchecked.
 */
export function createAtomicScrumApp(deps: AtomicScrumAppDeps): ApplicationFunction {
  const startRun = deps.startRun ?? ((input: GitHubStartInput) => startGitHubRun(deps.db, deps.now(), input));
  const labeledDeps = {
    db: deps.db,
    now: deps.now,
    startRun,
    ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
    ...(deps.providers ? { providers: deps.providers } : {}),
    ...(deps.preflight ? { preflight: deps.preflight } : {}),
  };
  const commentDeps = {
    db: deps.db,
    now: deps.now,
    ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
    ...(deps.wake ? { wake: deps.wake } : {}),
    ...(deps.settings ? { settings: deps.settings } : {}),
  };
  const endDeps = { db: deps.db, now: deps.now, ...(deps.wake ? { wake: deps.wake } : {}) };
  const reviewDeps = {
    db: deps.db,
    now: deps.now,
    ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
    ...(deps.wake ? { wake: deps.wake } : {}),
  };
  // One handler per key of PAYLOAD_SCHEMAS: the webhook endpoint checks each payload against its
  // schema before Probot dispatches it, so a handler added here without one does not compile.
  const handlers: { [E in HandledEvent]: (context: Context<E>) => Promise<unknown> | unknown } = {
    "issues.labeled": (context) => handleLabeled(context, labeledDeps),
    // Only `created`: an edited comment is never run again (docs/commands.md).
    "issue_comment.created": (context) => handleComment(context, commentDeps),
    "issues.closed": (context) => handleIssueClosed(context, endDeps),
    "pull_request.closed": (context) => handlePullClosed(context, endDeps),
    // The checks gate: a suite of another app completed on the commit a run waits on (docs/gates.md).
    "check_suite.completed": (context) =>
      handleCheckSuite(context, {
        ...endDeps,
        ...(deps.appId === undefined ? {} : { appId: deps.appId }),
        ...(deps.appSlug ? { appSlug: deps.appSlug } : {}),
      }),
    // The human approval gate: reviews and new commits on a run's pull request (docs/commands.md).
    "pull_request_review.submitted": (context) => handleReview(context, reviewDeps),
    "pull_request_review.dismissed": (context) => handleReview(context, reviewDeps),
    "pull_request.synchronize": (context) => handleReview(context, reviewDeps),
  };
  return (app) => {
    for (const [name, handler] of Object.entries(handlers) as [HandledEvent, (context: Context) => unknown][])
      app.on(name, async (context) => {
        await handler(context);
      });
  };
}
