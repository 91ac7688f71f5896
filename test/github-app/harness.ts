import { createHmac, generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import nock from "nock";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { createAtomicScrumApp } from "../../src/github/app.js";
import { type Database, openDatabase } from "../../src/store/database.js";
import { tempDir } from "../helpers/temp.js";

export const SECRET = "webhook-secret-for-tests";
export const INSTALLATION_ID = 4242;
export const OWNER = "Codertocat";
export const REPO = "Hello-World";
export const NOW = Date.UTC(2025, 0, 1);

const examples = createRequire(import.meta.url)(
  "@octokit/webhooks-examples/api.github.com/index.json",
) as WebhookDefinition[];

// One key for the whole file: RSA generation is the slowest step of starting a Probot.
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

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
  const probot = new Probot({
    appId: 1,
    privateKey,
    secret: SECRET,
    logLevel: "fatal",
    Octokit: ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } }),
  });
  const middleware = await createNodeMiddleware(createAtomicScrumApp({ db, now: () => NOW, ...options }), {
    probot,
  });
  const server: Server = createServer((req, res) => {
    void middleware(req, res, () => {
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  nock.enableNetConnect("127.0.0.1");
  const { port } = server.address() as AddressInfo;
  let deliveries = 0;
  return {
    db,
    deliver: (payload, options = {}) => {
      const body = JSON.stringify(payload);
      const signature = createHmac("sha256", options.secret ?? SECRET)
        .update(body)
        .digest("hex");
      deliveries += 1;
      return fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": options.event ?? "issues",
          "x-github-delivery": options.id ?? `delivery-${deliveries}`,
          "x-hub-signature-256": `sha256=${signature}`,
        },
        body,
      });
    },
    close: async () => {
      nock.disableNetConnect();
      // fetch keeps connections alive; without this, close waits for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
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
