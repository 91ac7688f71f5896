/**
 * The webhook endpoint under forged and oversized deliveries, 50 at once, loopback only (issue 11,
 * must-show 3). Each scenario runs against a fresh server process, so its peak RSS (VmHWM) is that
 * scenario's alone: `ours` is serve's server (src/github/app-server.ts, the real app over a temp
 * SQLite file), `probot` a bare Probot 14 app served by Probot's own `run`, as serve was before.
 * The reference is the same number of small valid deliveries. The bare Probot gets the large
 * bodies 10 at a time (BENCH_PROBOT_CONCURRENCY): 50 would hold several GB on a shared machine.
 * Prints figures; asserts nothing.
 *   npm run bench
 */
import { spawn } from "node:child_process";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../test/helpers/free-port.js";

const SECRET = "bench-secret";
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const PROBOT_CONCURRENCY = Number(process.env.BENCH_PROBOT_CONCURRENCY ?? 10);
const MB = 1_000_000;

type Kind = "ours" | "probot";

if (process.argv.includes("--child")) await child(process.argv[process.argv.indexOf("--child") + 1] as Kind);
else await main();

/** A server process: prints `READY <port>` on stderr once it listens; logs go to stdout. */
async function child(kind: Kind): Promise<void> {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const env = {
    APP_ID: "1",
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: SECRET,
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
  };
  if (kind === "probot") {
    const { run } = await import("probot");
    const port = await freePort();
    await run(() => {}, { env: { ...env, PORT: String(port) } as NodeJS.ProcessEnv });
    process.stderr.write(`READY ${port}\n`);
    return;
  }
  const { buildGitHubApp } = await import("../src/app.js");
  const { startAppServer } = await import("../src/github/app-server.js");
  const { openDatabase } = await import("../src/store/database.js");
  const dir = mkdtempSync(join(tmpdir(), "atomic-scrum-bench-"));
  const db = openDatabase(join(dir, "bench.db"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const parts = buildGitHubApp({ db, appId: 1 });
  const server = await startAppServer({
    appFn: parts.appFn,
    env: {
      appId: 1,
      privateKey,
      secret: SECRET,
      baseUrl: "https://api.github.com",
      host: "127.0.0.1",
      port: 0,
      webhookPath: "/api/github/webhooks",
    },
    rawEnv: env as NodeJS.ProcessEnv,
  });
  process.stderr.write(`READY ${server.port}\n`);
}

interface Scenario {
  name: string;
  body: Buffer;
  /** Sign it with the app's secret (else a forged signature). */
  signed: boolean;
  /** Send it chunked, with no Content-Length. */
  chunked: boolean;
}

async function main(): Promise<void> {
  const small = Buffer.from(
    JSON.stringify({
      action: "labeled",
      label: { name: "atomic:coding" },
      issue: { number: 1, title: "t", body: "b", labels: [], user: { login: "u" }, html_url: "https://x/1" },
      repository: { id: 1, name: "r", owner: { login: "o" }, default_branch: "main" },
      // A bot's label: the app takes it, checks it and ignores it, with no request to GitHub.
      sender: { login: "other[bot]", type: "Bot" },
      installation: { id: 1 },
      padding: "x".repeat(8_000),
    }),
  );
  const padded = (bytes: number) => Buffer.from(`{"padding":"${"x".repeat(bytes - 14)}"}`);
  const scenarios: Scenario[] = [
    { name: "small valid (reference)", body: small, signed: true, chunked: false },
    { name: "forged 20 MB", body: padded(20 * MB), signed: false, chunked: false },
    { name: "oversized 30 MB, length", body: padded(30 * MB), signed: false, chunked: false },
    { name: "oversized 30 MB, chunked", body: padded(30 * MB), signed: false, chunked: true },
  ];
  console.log(`webhook endpoint: each scenario on a fresh server process, loopback`);
  console.log(
    `  ${"server".padEnd(7)} ${"scenario".padEnd(26)} ${"at once".padStart(7)} ${"idle RSS".padStart(9)} ${"peak RSS".padStart(9)} ${"log".padStart(9)} ${"time".padStart(8)}  statuses`,
  );
  for (const scenario of scenarios) {
    for (const kind of ["ours", "probot"] as const) {
      const concurrency = kind === "probot" && scenario.body.length > MB ? PROBOT_CONCURRENCY : CONCURRENCY;
      const figures = await measure(kind, scenario, concurrency);
      console.log(
        `  ${kind.padEnd(7)} ${scenario.name.padEnd(26)} ${String(concurrency).padStart(7)} ${mb(figures.idleRss).padStart(9)} ${mb(figures.peakRss).padStart(9)} ${`${(figures.logBytes / 1024).toFixed(0)} kB`.padStart(9)} ${`${figures.ms.toFixed(0)} ms`.padStart(8)}  ${figures.statuses}`,
      );
    }
  }
}

async function measure(kind: Kind, scenario: Scenario, concurrency: number) {
  const bench = fileURLToPath(import.meta.url);
  const viteNode = join(
    fileURLToPath(new URL("..", import.meta.url)),
    "node_modules/vite-node/vite-node.mjs",
  );
  const server = spawn(process.execPath, [viteNode, "-c", childConfig(), bench, "--", "--child", kind], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logBytes = 0;
  server.stdout.on("data", (data: Buffer) => {
    logBytes += data.length;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = "";
    server.stderr.on("data", (data: Buffer) => {
      text += data.toString();
      const ready = /READY (\d+)/.exec(text);
      if (ready) resolve(Number(ready[1]));
    });
    server.once("exit", (code) => reject(new Error(`${kind} server exited (${code}): ${text}`)));
  });
  try {
    // Let start-up settle; its logs are not the scenario's.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const idleRss = procStatus(server.pid, "VmRSS");
    logBytes = 0;
    const signature = scenario.signed
      ? `sha256=${createHmac("sha256", SECRET).update(scenario.body).digest("hex")}`
      : `sha256=${"0".repeat(64)}`;
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: concurrency }, (_, i) => send(port, scenario, signature, `bench-${i}`)),
    );
    const ms = performance.now() - started;
    // Logs written asynchronously after the last answer still count.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const counts = new Map<string, number>();
    for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
    return {
      idleRss,
      peakRss: procStatus(server.pid, "VmHWM"),
      logBytes,
      ms,
      statuses: [...counts].map(([status, n]) => `${n}×${status}`).join(" "),
    };
  } finally {
    server.kill();
  }
}

/** One delivery over a raw socket; its status, or the error that ended it before an answer. */
function send(port: number, scenario: Scenario, signature: string, id: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const head = [
      "POST /api/github/webhooks HTTP/1.1",
      "host: 127.0.0.1",
      "content-type: application/json",
      "x-github-event: issues",
      `x-github-delivery: ${id}`,
      `x-hub-signature-256: ${signature}`,
      scenario.chunked ? "transfer-encoding: chunked" : `content-length: ${scenario.body.length}`,
    ].join("\r\n");
    let answered = false;
    let received = "";
    const done = (status: string) => {
      if (answered) return;
      answered = true;
      socket.destroy();
      resolve(status);
    };
    socket.on("data", (data: Buffer) => {
      received += data.toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      if (status) done(status);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => done(error.code ?? "error"));
    socket.on("close", () => done("closed"));
    void (async () => {
      const write = (data: Buffer | string) =>
        new Promise<void>((next) =>
          answered || socket.destroyed ? next() : socket.write(data, () => next()),
        );
      await write(`${head}\r\n\r\n`);
      const step = scenario.chunked ? 256 * 1024 : scenario.body.length;
      for (let at = 0; at < scenario.body.length && !answered; at += step) {
        const part = scenario.body.subarray(at, at + step);
        await write(
          scenario.chunked
            ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")])
            : part,
        );
      }
      if (scenario.chunked) await write("0\r\n\r\n");
    })();
  });
}

/**
 * The children's vite config: a worktree whose node_modules is a symlink resolves packages outside
 * vite's root, which its default file-serving rules refuse to load.
 */
function childConfig(): string {
  const file = join(tmpdir(), "atomic-scrum-bench-vite.config.mjs");
  writeFileSync(file, "export default { server: { fs: { strict: false } } };\n");
  return file;
}

function procStatus(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) * 1024;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
