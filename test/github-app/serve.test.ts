import { createHmac } from "node:crypto";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { type Served, serve } from "../../src/app.js";
import { openDatabase } from "../../src/store/database.js";
import { listEvents, listRuns } from "../../src/store/runs.js";
import { freePort } from "../helpers/free-port.js";
import { privateKey } from "../helpers/probot-server.js";
import { tempDir } from "../helpers/temp.js";
import { INSTALLATION_ID, labeledPayload, OWNER, REPO, SECRET } from "./harness.js";

const GHE = "https://ghe.example.com";

function env(port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    APP_ID: "1",
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: SECRET,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "fatal",
    ...extra,
  };
}

let served: Served | undefined;
afterEach(async () => {
  await served?.stop();
  served = undefined;
  nock.disableNetConnect();
});

async function deliver(port: number, payload: unknown) {
  const body = JSON.stringify(payload);
  return fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": "ghe-delivery-1",
      "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
    },
    body,
  });
}

describe("atomic-scrum serve", () => {
  it("refuses to start with an APP_ID but no WEBHOOK_SECRET (Probot would accept forged webhooks)", async () => {
    const dbPath = join(tempDir(), "store.db");
    await expect(serve({ dbPath, env: { APP_ID: "1", PRIVATE_KEY: privateKey } })).rejects.toThrow(
      /WEBHOOK_SECRET is not set/,
    );
  });

  it("with GHE_HOST, talks only to that GitHub Enterprise Server, from the webhook to the worker", async () => {
    const dbPath = join(tempDir(), "store.db");
    const port = await freePort();
    nock.enableNetConnect("127.0.0.1");
    const hosts: string[] = [];
    // The webhook itself goes to 127.0.0.1 (let through); anything else unmatched is a stray request.
    const unmatched = (req: { hostname?: string; host?: string; path?: string }) => {
      const host = req.hostname ?? req.host ?? "?";
      if (host !== "127.0.0.1") hosts.push(`${host}${req.path ?? ""}`);
    };
    nock.emitter.on("no match", unmatched);
    const repo = `/api/v3/repos/${OWNER}/${REPO}`;
    const ghe = nock(GHE);
    ghe
      .post(`/api/v3/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_ghe", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
    ghe
      .get(`${repo}/contents/.github%2Fatomic-scrum.yml`)
      .query({ ref: "master" })
      .reply(404, { message: "Not Found" });
    ghe
      .get(`${repo}/collaborators/Codertocat/permission`)
      .reply(200, { permission: "write", role_name: "write", user: { login: "Codertocat" } });
    // The worker's first request, once the run is queued: the repository, on the same server.
    const workerReached = new Promise<void>((resolve) => {
      ghe.get(repo).reply(() => {
        resolve();
        return [400, { message: "Bad Request" }];
      });
    });

    try {
      served = await serve({ dbPath, env: env(port, { GHE_HOST: "ghe.example.com" }) });
      expect(served.server.port).toBe(port);
      expect((await deliver(port, labeledPayload())).status).toBe(200);
      await workerReached;
      await served.stop();
    } finally {
      nock.emitter.removeListener("no match", unmatched);
    }
    // Nothing went anywhere but the Enterprise server (an unmatched request would be listed here).
    expect(hosts).toEqual([]);
    const db = openDatabase(dbPath);
    try {
      const runs = listRuns(db);
      expect(runs.map((r) => [r.pipelineName, r.repo.installationId])).toEqual([["coding", INSTALLATION_ID]]);
    } finally {
      db.close();
    }
  });

  // Issue 11, class 12, through the real start-up: Probot's own Octokit waits a rate limit out
  // in-process (60 s here) and sends again; the app's (src/github/octokit.ts) must be the class
  // both the webhook handlers' and the worker's clients are built from.
  describe("GitHub's clients are the app's Octokit, which waits out no rate limit in-process", () => {
    const limited = { message: "You have exceeded a secondary rate limit." };
    function gheRepo() {
      const ghe = nock(GHE);
      ghe
        .post(`/api/v3/app/installations/${INSTALLATION_ID}/access_tokens`)
        .reply(201, { token: "ghs_ghe", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
      return ghe;
    }
    const repo = `/api/v3/repos/${OWNER}/${REPO}`;

    it("a webhook handler's rate-limited read is sent once and the delivery is answered at once", async () => {
      const port = await freePort();
      nock.enableNetConnect("127.0.0.1");
      let sent = 0;
      const ghe = gheRepo();
      ghe
        .get(`${repo}/contents/.github%2Fatomic-scrum.yml`)
        .query({ ref: "master" })
        .times(2)
        .optionally()
        .reply(() => {
          sent++;
          return [429, limited, { "retry-after": "60" }];
        });
      ghe
        .get(`${repo}/collaborators/Codertocat/permission`)
        .optionally()
        .reply(200, { permission: "write", role_name: "write", user: { login: "Codertocat" } });
      served = await serve({
        dbPath: join(tempDir(), "store.db"),
        env: env(port, { GHE_HOST: "ghe.example.com" }),
      });
      const started = Date.now();
      const answer = await deliver(port, labeledPayload());
      expect(answer.status).toBe(500);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(sent).toBe(1);
    });

    it("the worker's rate-limited request is sent once and its job is put off until GitHub's time", async () => {
      const dbPath = join(tempDir(), "store.db");
      const port = await freePort();
      nock.enableNetConnect("127.0.0.1");
      const ghe = gheRepo();
      ghe
        .get(`${repo}/contents/.github%2Fatomic-scrum.yml`)
        .query({ ref: "master" })
        .reply(404, { message: "Not Found" });
      ghe
        .get(`${repo}/collaborators/Codertocat/permission`)
        .reply(200, { permission: "write", role_name: "write", user: { login: "Codertocat" } });
      let sent = 0;
      const workerReached = new Promise<void>((resolve) => {
        ghe
          .get(repo)
          .times(2)
          .optionally()
          .reply(() => {
            sent++;
            resolve();
            return [429, limited, { "retry-after": "60" }];
          });
      });
      served = await serve({ dbPath, env: env(port, { GHE_HOST: "ghe.example.com" }) });
      const started = Date.now();
      expect((await deliver(port, labeledPayload())).status).toBe(200);
      await workerReached;
      await served.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(sent).toBe(1);
      const db = openDatabase(dbPath);
      try {
        const [run] = listRuns(db);
        const postponed = listEvents(db, run?.id ?? "").filter((e) => e.type === "job.postponed");
        expect(postponed).toHaveLength(1);
        const job = db
          .prepare<[], { state: string; run_at: number; attempts: number }>(
            "SELECT state, run_at, attempts FROM jobs",
          )
          .get();
        expect(job?.state).toBe("queued");
        expect(job?.attempts).toBe(0);
        expect(job?.run_at).toBeGreaterThanOrEqual(started + 59_000);
      } finally {
        db.close();
      }
    });
  });
});
