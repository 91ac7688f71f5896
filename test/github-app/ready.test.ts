import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Served, serve } from "../../src/app.js";
import { PACKAGED_MANIFEST, startAppServer, startSetupServer } from "../../src/github/app-server.js";
import { readLogEnv, readProbotEnv } from "../../src/github/read-probot-env.js";
import {
  credentialsCheck,
  databaseCheck,
  SETUP_MODE,
  STALE_AFTER_POLL_MS,
  workerCheck,
} from "../../src/github/readiness.js";
import { openDatabase } from "../../src/store/database.js";
import { type LoopStatus, startWorkerLoop } from "../../src/worker/loop.js";
import { freePort } from "../helpers/free-port.js";
import { privateKey } from "../helpers/probot-server.js";
import { tempDir } from "../helpers/temp.js";
import { SECRET } from "./harness.js";

const GOOD: NodeJS.ProcessEnv = {
  APP_ID: "1",
  PRIVATE_KEY: privateKey,
  WEBHOOK_SECRET: SECRET,
  HOST: "127.0.0.1",
  PORT: "0",
  LOG_LEVEL: "fatal",
};

let served: Served | undefined;
afterEach(async () => {
  await served?.stop();
  served = undefined;
  vi.unstubAllEnvs();
  nock.disableNetConnect();
});

async function ready(port: number, method = "GET") {
  const answer = await fetch(`http://127.0.0.1:${port}/ready`, { method });
  const text = await answer.text();
  return { status: answer.status, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function serveApp(dbPath = join(tempDir(), "store.db")): Promise<Served> {
  nock.enableNetConnect("127.0.0.1");
  served = await serve({ dbPath, env: GOOD });
  return served;
}

describe("atomic-scrum serve > GET /ready", () => {
  it("is 200 when the credentials loaded, the database answers and the worker loop runs; /ping stays PONG", async () => {
    const { server } = await serveApp();
    expect(await ready(server.port)).toEqual({
      status: 200,
      text: expect.any(String),
      body: { ready: true, failed: [], checks: { credentials: "ok", database: "ok", worker: "ok" } },
    });
    expect((await ready(server.port, "HEAD")).status).toBe(200);
    const ping = await fetch(`http://127.0.0.1:${server.port}/ping`);
    expect([ping.status, await ping.text()]).toEqual([200, "PONG"]);
  });

  it("is 503 naming the database when its tables are gone, and says nothing secret", async () => {
    const dbPath = join(tempDir(), "store.db");
    const { server } = await serveApp(dbPath);
    expect((await ready(server.port)).status).toBe(200);
    const other = openDatabase(dbPath);
    other.exec("DROP TABLE jobs");
    other.close();
    const answer = await ready(server.port);
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      ready: false,
      failed: ["database"],
      checks: {
        credentials: "ok",
        database: "the database does not answer a query (SQLITE_ERROR)",
        worker: "ok",
      },
    });
    expect(answer.text).not.toContain(SECRET);
    expect(answer.text).not.toContain(dbPath);
    expect(answer.text).not.toContain((privateKey.split("\n")[1] as string).slice(0, 16));
  });

  it("is 503 naming the database when it is closed (the route and check on a real server)", async () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    const env = readProbotEnv(GOOD, tempDir());
    if (env.mode !== "app") throw new Error("GOOD is app mode");
    nock.enableNetConnect("127.0.0.1");
    const server = await startAppServer({
      appFn: () => {},
      env,
      rawEnv: GOOD,
      ready: () => ({ credentials: credentialsCheck(env), database: databaseCheck(db) }),
    });
    try {
      expect((await ready(server.port)).status).toBe(200);
      db.close();
      expect(await ready(server.port)).toMatchObject({
        status: 503,
        body: { ready: false, failed: ["database"], checks: { database: "the database is closed" } },
      });
    } finally {
      await server.stop();
    }
  });

  it("is 503 naming the worker once its loop has stopped", async () => {
    const { server, loop } = await serveApp();
    expect((await ready(server.port)).status).toBe(200);
    await loop?.stop();
    expect(await ready(server.port)).toMatchObject({
      status: 503,
      body: {
        ready: false,
        failed: ["worker"],
        checks: {
          credentials: "ok",
          database: "ok",
          worker: "the worker is stopping: the server is shutting down",
        },
      },
    });
  });

  it("is 503 in setup mode (no credentials), while Probot's setup page is served", async () => {
    // Probot's setup flow reads NO_SMEE_SETUP from the process itself; without it, it would try
    // `npx smee-client` and smee.io.
    vi.stubEnv("NO_SMEE_SETUP", "true");
    const port = await freePort();
    nock.enableNetConnect("127.0.0.1");
    served = await serve({
      dbPath: join(tempDir(), "store.db"),
      env: { HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "fatal" },
    });
    expect(served.loop).toBeUndefined();
    expect(await ready(port)).toMatchObject({
      status: 503,
      body: { ready: false, failed: ["credentials"], checks: { credentials: SETUP_MODE } },
    });
    expect(SETUP_MODE).toMatch(/^setup mode: the app is not registered yet/);
    const page = await fetch(`http://127.0.0.1:${port}/probot`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/probot/setup");
    const ping = await fetch(`http://127.0.0.1:${port}/ping`);
    expect(ping.status).toBe(200);
    await ping.text();
  });

  it("setup mode refuses PORT=0 (Probot's setup server would take 3000) and NODE_ENV=production", async () => {
    vi.stubEnv("NO_SMEE_SETUP", "true");
    const dbPath = join(tempDir(), "store.db");
    await expect(serve({ dbPath, env: { PORT: "0", LOG_LEVEL: "fatal" } })).rejects.toThrow(
      /^PORT=0 \(any free port\) works once the app is registered; .*set PORT to a port number$/,
    );
    expect(existsSync(dbPath)).toBe(false);
    const production = join(tempDir(), "store.db");
    await expect(serve({ dbPath: production, env: { NODE_ENV: "production" } })).rejects.toThrow(
      /^APP_ID is not set and NODE_ENV is production, where setup mode is not offered: set APP_ID/,
    );
    expect(existsSync(production)).toBe(false);
  });

  it("setup mode outside a folder with app.yml says what to copy, before it listens", async () => {
    vi.stubEnv("NO_SMEE_SETUP", "true");
    const empty = tempDir();
    const run = vi.fn();
    await expect(
      startSetupServer({
        listen: { host: "127.0.0.1", port: await freePort(), webhookPath: "/api/github/webhooks" },
        rawEnv: {},
        run,
        cwd: empty,
      }),
    ).rejects.toThrow(
      `setup mode registers the app from app.yml in the working directory, and ${empty} has none: copy the packaged one (cp ${PACKAGED_MANIFEST} .)`,
    );
    expect(run).not.toHaveBeenCalled();
    expect(existsSync(PACKAGED_MANIFEST)).toBe(true);
  });

  it("serve in setup mode in a folder without app.yml stops before it creates the database", async () => {
    vi.stubEnv("NO_SMEE_SETUP", "true");
    const empty = tempDir();
    const cwd = process.cwd();
    process.chdir(empty);
    try {
      const dbPath = join(empty, "atomic-scrum.db");
      await expect(
        serve({ dbPath, env: { HOST: "127.0.0.1", PORT: String(await freePort()), LOG_LEVEL: "fatal" } }),
      ).rejects.toThrow(
        /^setup mode registers the app from app\.yml in the working directory, and .* has none/,
      );
      expect(existsSync(dbPath)).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });

  it("setup mode on a port in use rejects in one line naming PORT", async () => {
    vi.stubEnv("NO_SMEE_SETUP", "true");
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        serve({
          dbPath: join(tempDir(), "store.db"),
          env: { HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "fatal" },
        }),
      ).rejects.toThrow(`PORT ${port} is in use on 127.0.0.1: set PORT to a free port`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe("atomic-scrum serve > a webhook POSTed to / (the Webhook URL Probot's setup flow registers)", () => {
  it("is answered 404 naming the path webhooks are taken on, which GitHub shows in its delivery log", async () => {
    const { server } = await serveApp();
    const answer = await fetch(`http://127.0.0.1:${server.port}/`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": "d-1" },
      body: "{}",
    });
    expect(answer.status).toBe(404);
    expect(await answer.json()).toEqual({
      error:
        "webhooks are taken on /api/github/webhooks: set the GitHub App's Webhook URL to https://<this host>/api/github/webhooks",
    });
    const other = await fetch(`http://127.0.0.1:${server.port}/`, { method: "POST", body: "{}" });
    expect([other.status, await other.text()]).toEqual([404, "not found\n"]);
  });
});

describe("docs/serve.md shows the answers serve gives", () => {
  const doc = readFileSync(new URL("../../docs/serve.md", import.meta.url), "utf8");

  it("GET /ready when all is well, and in setup mode; a webhook on the wrong path", async () => {
    const { server } = await serveApp();
    const ok = await ready(server.port);
    expect(doc).toContain(`\`\`\`json\n${ok.text}\n\`\`\``);
    const misdirected = await fetch(`http://127.0.0.1:${server.port}/`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": "d-1" },
      body: "{}",
    });
    expect(doc.replace(/\n {2}/g, " ").replace(/\n/g, " ")).toContain(`\`${await misdirected.text()}\``);
    await served?.stop();
    served = undefined;
    vi.stubEnv("NO_SMEE_SETUP", "true");
    const port = await freePort();
    served = await serve({
      dbPath: join(tempDir(), "store.db"),
      env: { HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "fatal" },
    });
    expect(doc.replace(/\n {2}/g, " ")).toContain(`\`${(await ready(port)).text}\``);
  });
});

describe("the readiness checks", () => {
  const loop = (state: LoopStatus["state"], beatAt: number): LoopStatus => ({ state, beatAt, pollMs: 5_000 });
  const now = 1_000_000;

  it("a sleeping loop that has not beaten within its poll and the margin is stuck; a working one has no limit", () => {
    const check = (status: LoopStatus | undefined) =>
      workerCheck(
        () => status,
        () => now,
      )();
    expect(check(loop("sleeping", now - 5_000 - STALE_AFTER_POLL_MS))).toBe("ok");
    expect(check(loop("sleeping", now - 5_000 - STALE_AFTER_POLL_MS - 1))).toBe(
      "the worker has not polled for 35 s (it polls every 5 s); restart the server",
    );
    expect(check(loop("working", now - 3_600_000))).toBe("ok");
    expect(check(loop("ended", now))).toBe("the worker loop ended; restart the server");
    expect(check(undefined)).toBe("the worker has not started");
  });

  it("the loop says what it does: working during a pass, sleeping after it, stopped once stopped", async () => {
    let finish: (() => void) | undefined;
    let clock = 100;
    const loopUnder = startWorkerLoop(
      {
        runUntilIdle: () =>
          new Promise((resolve) => {
            finish = () => resolve({ processed: 0, nextRunAt: undefined });
          }),
      },
      { now: () => clock, pollMs: 60_000 },
    );
    await vi.waitFor(() => expect(finish).toBeDefined());
    expect(loopUnder.status()).toEqual({ state: "working", beatAt: 100, pollMs: 60_000 });
    clock = 250;
    finish?.();
    await vi.waitFor(() => expect(loopUnder.status().state).toBe("sleeping"));
    expect(loopUnder.status().beatAt).toBe(250);
    const stopping = loopUnder.stop();
    expect(loopUnder.status().state).toBe("stopped");
    await stopping;
  });

  it("credentials that do not load are named, without the key", () => {
    const env = { appId: 1, privateKey, secret: SECRET };
    expect(credentialsCheck(env)()).toBe("ok");
    expect(credentialsCheck({ ...env, privateKey: "not a key" })()).toBe("the private key does not load");
    expect(credentialsCheck({ ...env, secret: " " })()).toBe("WEBHOOK_SECRET is empty");
    expect(credentialsCheck({ ...env, appId: 0 })()).toBe("APP_ID is not a GitHub App id");
  });
});

describe("atomic-scrum serve > logging settings, read as Probot's run reads them", () => {
  it("LOG_LEVEL defaults to info and a wrong one stops serve naming it, before the database opens", async () => {
    expect(readLogEnv({})).toEqual({ LOG_LEVEL: "info", LOG_FORMAT: "pretty" });
    expect(readLogEnv({ NODE_ENV: "production" })).toEqual({ LOG_LEVEL: "info", LOG_FORMAT: "json" });
    expect(readLogEnv({ LOG_FORMAT: "pretty", NODE_ENV: "production" }).LOG_FORMAT).toBe("pretty");
    // Probot's types allow only the right values; the environment can hold anything.
    const raw = (env: Record<string, string>) => env as NodeJS.ProcessEnv;
    expect(readLogEnv(raw({ LOG_FORMAT: "JSON", LOG_LEVEL: "debug" }))).toEqual({
      LOG_LEVEL: "debug",
      LOG_FORMAT: "json",
    });
    const dbPath = join(tempDir(), "store.db");
    await expect(serve({ dbPath, env: { ...GOOD, ...raw({ LOG_LEVEL: "verbose" }) } })).rejects.toThrow(
      /^LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"$/,
    );
    expect(existsSync(dbPath)).toBe(false);
  });

  it("SENTRY_DSN without @sentry/node installed stops serve in one line naming both (under npx, Probot installs it)", async () => {
    const dsn = { SENTRY_DSN: "https://key@sentry.example.com/1" };
    expect(() => readLogEnv(dsn)).toThrow(
      /^SENTRY_DSN is set, but @sentry\/node \(which Probot sends errors to Sentry with\) is not installed: run `npm install @sentry\/node@9`/,
    );
    expect(readLogEnv({ ...dsn, npm_lifecycle_event: "npx" }).LOG_LEVEL).toBe("info");
    const dbPath = join(tempDir(), "store.db");
    await expect(serve({ dbPath, env: { ...GOOD, ...dsn } })).rejects.toThrow(/^SENTRY_DSN is set/);
    expect(existsSync(dbPath)).toBe(false);
  });

  it("REDIS_URL is ignored (one process needs no shared throttling): serve starts and is ready", async () => {
    nock.enableNetConnect("127.0.0.1");
    served = await serve({
      dbPath: join(tempDir(), "store.db"),
      env: { ...GOOD, REDIS_URL: "redis://127.0.0.1:1" },
    });
    expect((await ready(served.server.port)).status).toBe(200);
  });
});
