import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleCli } from "../helpers/bundled-cli.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

// Issue 12 item 6: `atomic-scrum status | head -2` and `test --mutate | head -1` printed an EPIPE
// stack trace. The CLI runs here as the binary does, a child process whose output goes to a reader
// that closes its end early, as `head` does.

const ROOT = resolve(import.meta.dirname, "../..");
let work: string;
let bin: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "atomic-scrum-epipe-"));
  bin = await bundleCli(work);
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/**
 * Starts the CLI with `args`; the reader of `stream` closes its end once it has read `lines`
 * lines (0: before the CLI has printed anything). What was read of the other stream is returned.
 */
function pipedInto(
  args: string[],
  reader: { stream: "stdout" | "stderr"; lines: number },
  env: NodeJS.ProcessEnv = {},
): Promise<Ended> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const read = { stdout: "", stderr: "" };
  const closing = child[reader.stream];
  if (reader.lines === 0) closing.destroy();
  for (const name of ["stdout", "stderr"] as const) {
    child[name].on("data", (chunk: Buffer) => {
      read[name] += chunk.toString("utf8");
      if (name === reader.stream && read[name].split("\n").length > reader.lines) closing.destroy();
    });
  }
  return new Promise((done) =>
    child.once("close", (code, signal) => done({ code, signal, out: read.stdout, err: read.stderr })),
  );
}

const runIdOf = (text: string) => /run (run-\d+-[0-9a-f]{6})/.exec(text)?.[1] ?? "";

describe("output piped into a reader that stops early", () => {
  it("status whose reader is gone before it prints: exits 0, and prints no stack trace", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const id = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo)).out);
    const ended = await pipedInto(["status", id, "--repo", repo], { stream: "stdout", lines: 0 });
    expect(ended).toEqual({ code: 0, signal: null, out: "", err: "" });
  });

  it("a run whose reader closes after one line stops quietly, exit 0, and resume then finishes it", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const args = ["run", pipeline, "--issue", issueFile(), "--repo", repo];
    const ended = await pipedInto(args, { stream: "stdout", lines: 1 });
    expect(ended.err).toBe("");
    expect(ended.code).toBe(0);
    const id = runIdOf(ended.out);
    expect(id).not.toBe("");
    // Stopped where the next line was to be printed, as a crash would leave it.
    const resumed = await cli("resume", id, "--repo", repo);
    expect(resumed.err).toBe("");
    expect(resumed.out).toContain(`👀 run ${id} is waiting for approval (a human review)`);
  });

  it("test --mutate, output written over seconds, stops quietly when its reader closes after one line", async () => {
    const pipeline = join(ROOT, "pipelines/coding.yml");
    const ended = await pipedInto(["test", pipeline, "--mutate"], { stream: "stdout", lines: 1 });
    expect(ended.out).toContain("atomic-scrum test --mutate · coding");
    expect(ended).toMatchObject({ code: 0, signal: null, err: "" });
  });

  it("stderr closed before a failure is reported: exits quietly, nothing reaches stdout", async () => {
    const bad = tempFile("bad.yml", "name: bad\nphases:\n  - id: a\n    task: nope\n  - id: b\n");
    const ended = await pipedInto(["validate", bad, bad, bad], { stream: "stderr", lines: 0 });
    expect(ended).toEqual({ code: 0, signal: null, out: "", err: "" });
  });
});

describe("an ordinary failure", () => {
  it("prints one line and no stack trace; ATOMIC_SCRUM_DEBUG=1 adds the stack", async () => {
    const repo = tempRepo();
    const plain = await pipedInto(["status", "run-9-abcdef", "--repo", repo], {
      stream: "stdout",
      lines: 99,
    });
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(
      /^atomic-scrum: no run run-9-abcdef in \S+; did you mean --repo DIR .* lists the runs here\n$/,
    );

    const debug = await pipedInto(
      ["status", "run-9-abcdef", "--repo", repo],
      { stream: "stdout", lines: 99 },
      { ATOMIC_SCRUM_DEBUG: "1" },
    );
    expect(debug.code).toBe(1);
    expect(debug.err).toContain("atomic-scrum: no run run-9-abcdef in ");
    expect(debug.err).toMatch(/\n {4}at .*(noRun|requireRun)/);
  });
});
