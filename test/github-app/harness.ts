import { createRequire } from "node:module";
import { join } from "node:path";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import { createAtomicScrumApp } from "../../src/github/app.js";
import { type Database, openDatabase } from "../../src/store/database.js";
import { serveProbot } from "../helpers/probot-server.js";
import { tempDir } from "../helpers/temp.js";

export { SECRET } from "../helpers/probot-server.js";
export const INSTALLATION_ID = 4242;
export const OWNER = "Codertocat";
export const REPO = "Hello-World";
export const NOW = Date.UTC(2025, 0, 1);

const examples = createRequire(import.meta.url)(
  "@octokit/webhooks-examples/api.github.com/index.json",
) as WebhookDefinition[];

export interface RunningApp {
  db: Database;
  /** POSTs a webhook the way GitHub does, signed with `secret` (the app's own by default). */
  deliver: (
    payload: unknown,
    options?: { id?: string; secret?: string; event?: string },
  ) => Promise<Response>;
  close: () => Promise<void>;
}

/** The real Probot app behind its real HTTP middleware, on a free port, over a real SQLite file. */
export async function startApp(options: { providers?: readonly string[] } = {}): Promise<RunningApp> {
  const db = openDatabase(join(tempDir(), "store.db"));
  const served = await serveProbot(createAtomicScrumApp({ db, now: () => NOW, ...options }));
  return {
    db,
    deliver: served.deliver,
    close: async () => {
      await served.close();
      db.close();
    },
  };
}

/**
 * The `issues.labeled` example from @octokit/webhooks-examples, changed only where a test needs:
 * the label, the sender, and an installation (the example has none; every app delivery does).
 */
export function labeledPayload(
  change: { label?: string; sender?: { login: string; type?: "User" | "Bot" } } = {},
): Record<string, unknown> {
  const definition = examples.find((d) => d.name === "issues");
  const example = definition?.examples.find((e) => "action" in e && e.action === "labeled");
  if (!example) throw new Error("no issues.labeled example in @octokit/webhooks-examples");
  const payload = structuredClone(example) as unknown as Record<string, Record<string, unknown>>;
  const label = change.label ?? "atomic:coding";
  payload.label = { ...payload.label, name: label };
  const issue = payload.issue as { labels: { name: string }[] };
  issue.labels = [...issue.labels, { ...(issue.labels[0] ?? {}), name: label }];
  if (change.sender) payload.sender = { ...payload.sender, type: "User", ...change.sender };
  payload.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
  return payload;
}

/**
 * The `pull_request.closed` example, its head moved to `branch` (the example's is `changes`) and,
 * when given, its number and merged flag changed. `head.repo.id` can be set to play a fork.
 */
export function closedPullPayload(change: {
  branch: string;
  number?: number;
  merged?: boolean;
  forkRepoId?: number;
}): Record<string, unknown> {
  const definition = examples.find((d) => d.name === "pull_request");
  const example = definition?.examples.find((e) => "action" in e && e.action === "closed");
  if (!example) throw new Error("no pull_request.closed example in @octokit/webhooks-examples");
  const payload = structuredClone(example) as unknown as {
    number: number;
    pull_request: { number: number; merged: boolean; head: { ref: string; repo: { id: number } } };
  };
  payload.pull_request.head.ref = change.branch;
  if (change.number !== undefined) payload.number = payload.pull_request.number = change.number;
  if (change.merged !== undefined) payload.pull_request.merged = change.merged;
  if (change.forkRepoId !== undefined) payload.pull_request.head.repo.id = change.forkRepoId;
  return payload as unknown as Record<string, unknown>;
}
