import { execFile, execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Issue 12 item 1: the CLI installed from its packed tarball works from any directory. The
// tarball is made as `npm pack` makes it for a publish (its prepack and prepare scripts included),
// from a copy of this checkout so the checkout's own dist/ is left alone; it is unpacked, given
// this checkout's node_modules (what `npm install` of the tarball would fetch), and run from a
// directory outside both. No network: npm packs offline.

const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};

let work: string;
let files: string[];
let installed: string;

/** The environment of a child: without this process's npm and atomic-scrum settings. */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm_|ATOMIC_SCRUM_)/i.test(key)),
  );
}

const execFileAsync = promisify(execFile);

/**
 * What a command prints. Asynchronous: a pack builds for many seconds, and a blocked test worker
 * misses vitest's heartbeats.
 */
async function run(file: string, args: string[], cwd: string): Promise<string> {
  return (await execFileAsync(file, args, { cwd, env: childEnv(), encoding: "utf8" })).stdout;
}

/** The files git has or would add (tracked, and untracked but not ignored), as they are now. */
function checkoutFiles(): string[] {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return listed.split("\0").filter((path) => path && !path.startsWith("node_modules"));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "atomic-scrum-package-"));
  const copy = join(work, "checkout");
  for (const path of checkoutFiles()) {
    mkdirSync(dirname(join(copy, path)), { recursive: true });
    try {
      copyFileSync(join(ROOT, path), join(copy, path));
    } catch (error) {
      // A file deleted in the working tree but still in the index is not part of the package.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  // What an older build left: a module since removed, and a source map. A pack must not ship them.
  mkdirSync(join(copy, "dist"));
  writeFileSync(join(copy, "dist/removed-module.js"), "export {};\n");
  writeFileSync(join(copy, "dist/cli.js.map"), "{}\n");
  const packed = JSON.parse(
    await run(
      "npm",
      ["pack", "--json", "--offline", "--no-update-notifier", "--pack-destination", work],
      copy,
    ),
  ) as { filename: string; files: { path: string }[] }[];
  const tarball = packed[0];
  if (!tarball) throw new Error("npm pack reported no tarball");
  files = tarball.files.map((file) => file.path).sort();

  const unpacked = join(work, "unpacked");
  mkdirSync(unpacked);
  await run("tar", ["-xzf", join(work, tarball.filename), "-C", unpacked], work);
  installed = join(unpacked, "package");
  symlinkSync(join(ROOT, "node_modules"), join(installed, "node_modules"));
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds the built CLI, one .js per source file and nothing else of the build", () => {
    const sources = checkoutFiles()
      .filter((path) => /^src\/.*\.ts$/.test(path) && !path.endsWith(".test.ts") && !path.endsWith(".d.ts"))
      .map((path) => path.replace(/^src\//, "dist/").replace(/\.ts$/, ".js"))
      .sort();
    expect(files.filter((path) => path.startsWith("dist/"))).toEqual(sources);
    expect(files).toContain(pkg.bin["atomic-scrum"]);
  });

  it("holds every built-in pipeline file, prompt and scenario, the schemas and the docs", () => {
    const wanted = checkoutFiles().filter((path) => /^(pipelines|schema|docs)\//.test(path));
    expect(wanted.length).toBeGreaterThan(20);
    expect(files).toEqual(
      expect.arrayContaining([...wanted, "package.json", "README.md", "LICENSE", "app.yml"]),
    );
  });

  it("holds no tests, sources, benchmarks, CI scripts, source maps or configuration", () => {
    const unwanted = files.filter((path) =>
      /^(test|src|bench|\.ci|node_modules)\/|\.map$|^tsconfig|^vitest|^biome|\.db$/.test(path),
    );
    expect(unwanted).toEqual([]);
  });
});

describe("the CLI unpacked from it, run from a directory outside the checkout", () => {
  it("prints its version", async () => {
    const cli = join(installed, pkg.bin["atomic-scrum"] as string);
    expect(readFileSync(cli, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect((await run(process.execPath, [cli, "--version"], work)).trim()).toBe(pkg.version);
  });

  it("runs the built-in coding pipeline on a fresh repository to its human review, then approve ends it", async () => {
    const cli = join(installed, pkg.bin["atomic-scrum"] as string);
    const repo = join(work, "fresh");
    mkdirSync(repo);
    await run("git", ["init", "-q", "-b", "main"], repo);
    writeFileSync(join(repo, "README.md"), "# greeter\n");
    await run("git", ["add", "."], repo);
    await run(
      "git",
      ["-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-qm", "initial"],
      repo,
    );
    writeFileSync(join(repo, "issue.md"), "# Add a greeting\n\nPrint hello to whoever runs it.\n");

    const started = await run(
      process.execPath,
      [cli, "run", "coding", "--issue", "issue.md", "--repo", "."],
      repo,
    );
    expect(started).toContain("atomic-scrum · coding · run ");
    const id = /run (run-\d+-[0-9a-f]{6}) is waiting for approval \(a human review\)/.exec(started)?.[1];
    expect(id, started).toBeDefined();
    const approved = await run(process.execPath, [cli, "approve", id as string, "--repo", "."], repo);
    expect(approved).toContain(`run ${id} succeeded`);
  });
});
