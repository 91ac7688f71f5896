import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWorker } from "../../src/local/dead-owners.js";
import { work as workRun } from "../../src/local/work-run.js";
import type { Provider } from "../../src/providers/provider.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { openDatabase } from "../../src/store/database.js";
import { claim, enqueue, fail, listJobs } from "../../src/store/queue.js";
import { bundleCli } from "../helpers/bundled-cli.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { openApp, SMALL_PIPELINE, start } from "../helpers/local-run.js";
import { tempDir, tempFile, tempRepo } from "../helpers/temp.js";

// Issue 12, item 8: Ctrl-C during a run says how to continue, gives the lease back and exits 130;
// `status` then tells the interrupted run (its process is gone) from a running one. A real
// `atomic-scrum run` as a child process, stopped while it waits on a model that never answers.

let work: string;
let cliPath: string;
let server: Server;
let port: number;
const sockets = new Set<Socket>();
/** Resolved at the first model request: the child is then inside a phase, holding its lease. */
let called: () => void = () => {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "atomic-scrum-interrupt-"));
  cliPath = await bundleCli(work);
  // A model server that takes every request and answers none.
  server = createServer(() => called());
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  port = (server.address() as { port: number }).port;
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((done) => server?.close(done));
  if (work) rmSync(work, { recursive: true, force: true });
});

function startRun(repo: string): { child: ChildProcess; out: () => string; err: () => string } {
  const settings = tempFile(
    "settings.yml",
    [
      "providers:",
      "  openai-compatible:",
      `    base_url: http://127.0.0.1:${port}/v1`,
      "    models: { fast: local-model, balanced: local-model, deep: local-model }",
      "    max_retries: 0",
      "prices:",
      "  local-model: { input: 0, output: 0 }",
      "",
    ].join("\n"),
  );
  const pipeline = tempFile("p.yml", SMALL_PIPELINE);
  const child = spawn(
    process.execPath,
    [cliPath, "run", pipeline, "--issue", issueFile(), "--repo", repo, "--provider", "openai-compatible"],
    {
      cwd: work,
      env: { ...process.env, ATOMIC_SCRUM_SETTINGS: settings, ATOMIC_SCRUM_OPENAI_API_KEY: "test-key" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  return { child, out: () => out, err: () => err };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })));
}

describe("Ctrl-C during a local run", () => {
  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s: says how to continue, releases the lease, exits 130; status tells running from interrupted",
    async (signal) => {
      const repo = tempRepo();
      const calledOnce = new Promise<void>((done) => {
        called = done;
      });
      const run = startRun(repo);
      const exit = exited(run.child);
      await Promise.race([
        calledOnce,
        exit.then(() => {
          throw new Error(`the run ended before calling the model:\n${run.out()}\n${run.err()}`);
        }),
      ]);
      const id = /run (run-7-[0-9a-f]{6})/.exec(run.out())?.[1] ?? "";
      expect(id).not.toBe("");

      const working = await cli("status", id, "--repo", repo);
      expect(working.out).toContain(
        `**Next:** running (pid ${run.child.pid}): the run is working on the current phase.`,
      );

      const before = Date.now();
      run.child.kill(signal);
      const { code } = await exit;
      expect(code).toBe(130);
      expect(run.err()).toContain(`interrupted: continue with \`atomic-scrum resume ${id} --repo ${repo}\``);

      // The lease is given back: the next command takes the job at once instead of waiting a minute.
      const db = openDatabase(join(repo, ".git/atomic-scrum/atomic-scrum.db"));
      try {
        const held = listJobs(db, { state: "running" });
        expect(held).toHaveLength(1);
        expect(held[0]?.leaseExpiresAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now());
        expect(held[0]?.leaseExpiresAt ?? 0).toBeGreaterThanOrEqual(before);
      } finally {
        db.close();
      }

      const status = await cli("status", id, "--repo", repo);
      expect(status.out).toContain(
        `**Next:** interrupted: no process is working on it; continue with \`atomic-scrum resume ${id} --repo ${repo}\`.`,
      );
      const list = await cli("status", "--repo", repo);
      expect(list.out).toMatch(new RegExp(`${id}\\s+small\\s+interrupted\\s+#7`));
    },
    60_000,
  );
});

describe("resume of a run another process is working on", () => {
  it("says who works on it and returns at once, instead of waiting silently for that process", async () => {
    const repo = tempRepo();
    const app = openApp(repo, { provider: createSimulatedProvider() });
    let id: string;
    try {
      id = start(app).id;
      // The run's job held by a live process on this host (this test's parent), as a `run` in
      // another terminal holds it while it waits on a model.
      const held = claim(app.db, {
        owner: `${hostname()}:${process.ppid}:abc`,
        leaseMs: 60_000,
        now: Date.now(),
      });
      expect(held).toBeDefined();
    } finally {
      app.close();
    }
    const timeout = new Promise<"still waiting">((done) => setTimeout(() => done("still waiting"), 3_000));
    const result = await Promise.race([cli("resume", id, "--repo", repo), timeout]);
    expect(result).not.toBe("still waiting");
    if (result === "still waiting") return;
    expect(result.code).toBe(1);
    expect(result.err).toContain(`run ${id} is being worked on by another command (pid ${process.ppid})`);
  });
});

describe("Ctrl-C after the run ended meanwhile", () => {
  it("a run cancelled from another terminal while this one waited is not offered a resume", async () => {
    const repo = tempRepo();
    let calling: () => void = () => {};
    const inCall = new Promise<void>((done) => {
      calling = done;
    });
    // A model that never answers: the command waits in the call, as on a slow model.
    const hanging: Provider = {
      ...createSimulatedProvider(),
      complete: () => {
        calling();
        return new Promise<never>(() => {});
      },
    };
    const app = openApp(repo, { provider: hanging });
    const run = start(app);
    const listeners = new Map<string, () => void>();
    let exitCode: number | undefined;
    const signals = {
      once: (signal: string, listener: () => void) => listeners.set(signal, listener),
      off: (signal: string) => listeners.delete(signal),
      exit: (code: number) => {
        exitCode = code;
      },
    };
    const err: string[] = [];
    void workRun(app, run.id, { out: () => {}, err: (line) => err.push(line) }, signals);
    await inCall;
    expect((await cli("cancel", run.id, "--repo", repo)).code).toBe(0);
    listeners.get("SIGINT")?.();
    expect(exitCode).toBe(130);
    expect(err.join("\n")).not.toContain("resume");
    expect(err.join("\n")).toContain(
      `interrupted: run ${run.id} has nothing to continue: it was cancelled by`,
    );
  });
});

describe("who works on a run (runWorker)", () => {
  const host = "this-host";
  const job = (db: ReturnType<typeof openDatabase>) =>
    enqueue(db, { kind: "run", payload: { runId: "run-1" }, idempotencyKey: "k", group: "run-1", now: 1 });

  it("a live owner on this host, one on another host, one that died, a job in backoff, none", () => {
    const db = openDatabase(join(tempDir(), "jobs.db"));
    try {
      expect(runWorker(db, "run-1", 10, host)).toEqual({ kind: "gone" });
      job(db);
      expect(runWorker(db, "run-1", 10, host)).toEqual({ kind: "gone" });
      const held = claim(db, { owner: `${host}:4242:abc`, leaseMs: 60_000, now: 10 });
      expect(runWorker(db, "run-1", 20, host, () => true)).toEqual({ kind: "alive", pid: 4242 });
      expect(runWorker(db, "run-1", 20, host, () => false)).toEqual({ kind: "gone" });
      expect(runWorker(db, "run-1", 20, "other-host", () => false)).toEqual({
        kind: "elsewhere",
        owner: `${host}:4242:abc`,
      });
      fail(db, { jobId: held?.id ?? 0, token: held?.token ?? 0, error: "git is busy", now: 30 });
      const retry = runWorker(db, "run-1", 31, host);
      expect(retry.kind).toBe("backoff");
      // Once it is due and nobody took it, the command that would have is gone.
      expect(runWorker(db, "run-1", Number.MAX_SAFE_INTEGER, host)).toEqual({ kind: "gone" });
    } finally {
      db.close();
    }
  });
});
