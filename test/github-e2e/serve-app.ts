import { createHmac, generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { buildGitHubApp } from "../../src/app.js";
import { type Database, openDatabase } from "../../src/store/database.js";
import type { Worker } from "../../src/worker/worker.js";
import { SECRET } from "../github-app/harness.js";

// One key per test file: RSA generation is the slowest step of starting a Probot.
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

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
export async function serveApp(options: {
  dbPath: string;
  now: () => number;
  owner: string;
}): Promise<ServedApp> {
  const db = openDatabase(options.dbPath);
  const parts = buildGitHubApp({ db, now: options.now, owner: options.owner });
  const probot = new Probot({
    appId: 1,
    privateKey,
    secret: SECRET,
    logLevel: "fatal",
    // A function, not an object: Probot puts its own throttle options over object defaults, and
    // the throttling plugin then spaces writes 1-3 s apart (seconds per phase in a test).
    Octokit: ProbotOctokit.defaults((instance: Record<string, unknown>) => ({
      ...instance,
      retry: { enabled: false },
      throttle: { ...(instance.throttle as object), enabled: false },
    })),
  });
  const middleware = await createNodeMiddleware(parts.appFn, { probot });
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
    worker: parts.worker,
    deliver: (payload, deliverOptions = {}) => {
      const body = JSON.stringify(payload);
      const signature = createHmac("sha256", SECRET).update(body).digest("hex");
      deliveries += 1;
      return fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": deliverOptions.event ?? "issues",
          "x-github-delivery": deliverOptions.id ?? `${options.owner}-delivery-${deliveries}`,
          "x-hub-signature-256": `sha256=${signature}`,
        },
        body,
      });
    },
    close: async () => {
      nock.disableNetConnect();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      db.close();
    },
  };
}
