import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type AppFlags, approveCommand, type Io, runCommand } from "./commands.js";
import { shellWord } from "./next-steps.js";

const SAMPLE_FILES: Record<string, string> = {
  "README.md": "# tinyfetch\n\nA small command-line HTTP client: `tinyfetch <url>` prints the body.\n",
  "package.json": `${JSON.stringify({ name: "tinyfetch", version: "1.0.0", type: "module", bin: { tinyfetch: "src/cli.ts" } }, null, 2)}\n`,
  "src/cli.ts": [
    'import { fetchText } from "./fetch-text.js";',
    "",
    "const url = process.argv[2];",
    'if (!url) throw new Error("usage: tinyfetch <url>");',
    "console.log(await fetchText(url));",
    "",
  ].join("\n"),
  "src/fetch-text.ts": [
    "/** Fetches a URL and returns its body as text; throws on a non-2xx status. */",
    "export async function fetchText(url: string): Promise<string> {",
    "  const response = await fetch(url);",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: this is the sample file's own source text
    "  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);",
    "  return response.text();",
    "}",
    "",
  ].join("\n"),
};

const CODING_ISSUE = `---
number: 42
labels: [atomic:coding]
author: maintainer
---
# Retry failed requests with a --retries flag

tinyfetch gives up on the first network error or 5xx answer. Flaky CI networks make it fail
several times a week.

Add a \`--retries <n>\` flag (default 0) that retries on network errors and 5xx answers with
exponential backoff, and never retries a 4xx.
`;

const CONTENT_ISSUE = `---
number: 43
labels: [atomic:content]
author: maintainer
---
# Blog post: why tinyfetch now retries, and when it will not

Announce the new --retries flag to our users: what changed, why 4xx answers are never retried,
and how to use it in CI. Around 600 words.
`;

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", args, { cwd, stdio: "ignore" });
}

/** A fresh sample repository with one commit, the way a newcomer's project would look. */
export function createSampleRepository(dir: string): {
  repo: string;
  issues: { coding: string; content: string };
} {
  const repo = join(dir, "tinyfetch");
  for (const [path, content] of Object.entries(SAMPLE_FILES)) {
    mkdirSync(join(repo, path, ".."), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", ".");
  git(
    repo,
    "-c",
    "user.name=Demo",
    "-c",
    "user.email=demo@example.invalid",
    "commit",
    "-q",
    "-m",
    "tinyfetch 1.0",
  );
  const coding = join(dir, "issue-42.md");
  const content = join(dir, "issue-43.md");
  writeFileSync(coding, CODING_ISSUE);
  writeFileSync(content, CONTENT_ISSUE);
  return { repo, issues: { coding, content } };
}

/**
 * `npm run demo`: both built-in pipelines, offline on the simulated provider, on a new sample
 * repository: the coding pipeline up to its human review, approved by command; the content
 * pipeline with its 24h cooldown fast-forwarded, then approved.
 */
export async function runDemo(dirArg: string | undefined, io: Io): Promise<number> {
  const dir = dirArg ? resolve(dirArg) : mkdtempSync(join(tmpdir(), "atomic-scrum-demo-"));
  mkdirSync(dir, { recursive: true });
  const { repo, issues } = createSampleRepository(dir);
  io.out(`Sample repository: ${repo}\n`);
  const steps: [string, AppFlags, string][] = [
    ["coding", { repo, provider: "simulated", wait: true }, issues.coding],
    ["content", { repo, provider: "simulated", wait: false }, issues.content],
  ];
  for (const [pipeline, flags, issue] of steps) {
    // Shown as a person would type them: quoted where a shell would split a path.
    const run = ["atomic-scrum", "run", pipeline, "--issue", issue, "--repo", repo];
    io.out(`$ ${[...run, ...(flags.wait ? [] : ["--no-wait"])].map(shellWord).join(" ")}`);
    const started = await runCommand(pipeline, issue, flags, io);
    if (started.code !== 0 || !started.runId) return started.code || 1;
    io.out(`\n$ ${["atomic-scrum", "approve", started.runId, "--repo", repo].map(shellWord).join(" ")}`);
    const approved = await approveCommand(started.runId, "demo-reviewer", flags, io);
    if (approved !== 0) return approved;
    io.out("");
  }
  io.out(`Done. Look around: cd ${shellWord(repo)} && git log --oneline --all --graph`);
  io.out(`Phase comments: ${join(repo, ".git", "atomic-scrum", "runs")}`);
  return 0;
}
