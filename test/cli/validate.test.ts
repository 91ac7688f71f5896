import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { captureIo } from "../helpers/io.js";
import { tempDir, tempFile } from "../helpers/temp.js";

async function validate(name: string, text: string, extra: Record<string, string> = {}) {
  const dir = tempDir();
  const file = join(dir, name);
  writeFileSync(file, text);
  for (const [path, content] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const io = captureIo();
  const code = await main(["validate", file], io);
  const lines = io.stderr.filter((l) => !l.endsWith("problem(s) found")).map((l) => l.replace(file, name));
  return { code, lines, stdout: io.stdout };
}

const HEAD = "name: demo\nphases:\n";

describe("atomic-scrum validate", () => {
  it("exits 0 on the built-in pipelines", async () => {
    const io = captureIo();
    expect(await main(["validate", "pipelines/coding.yml", "pipelines/content.yml"], io)).toBe(0);
    expect(io.stderr).toEqual([]);
    expect(io.stdout).toHaveLength(2);
  });

  it("reports a YAML syntax error at its line and column", async () => {
    const result = await validate("syntax.yml", `${HEAD}  - id: a\n    task: code\n    prompt: [unclosed\n`);
    expect(result.code).toBe(1);
    expect(result.lines).toHaveLength(1);
    // At the [ that is never closed, not at the end of the file where YAML gave up.
    expect(result.lines[0]).toBe(
      "syntax.yml:5:13: YAML syntax error: the [ that starts here is never closed: end it with ], or write one item per line",
    );
  });

  it("reports a duplicate key", async () => {
    const result = await validate("dup.yml", "name: a\nname: b\nphases: []\n");
    expect(result.lines).toEqual(["dup.yml:2:1: duplicate key: Map keys must be unique"]);
  });

  it("reports an unknown field with a did-you-mean, at the key", async () => {
    const result = await validate(
      "unknown.yml",
      `${HEAD}  - id: a\n    task: code\n    promt: x\n    prompt: y\n`,
    );
    expect(result.lines).toEqual([
      'unknown.yml:5:5: phases[0].promt: unknown field "promt" (did you mean "prompt"?)',
    ]);
  });

  it("reports a wrong enum value with the allowed values", async () => {
    const result = await validate(
      "tier.yml",
      `${HEAD}  - id: a\n    task: code\n    tier: fastest\n    prompt: y\n`,
    );
    expect(result.lines).toEqual([
      'tier.yml:5:11: phases[0].tier: expected one of fast | balanced | deep, got "fastest"',
    ]);
  });

  it("reports duplicate phase ids at the second one", async () => {
    const phase = "  - id: a\n    task: code\n    prompt: y\n";
    const result = await validate("ids.yml", `${HEAD}${phase}${phase}`);
    expect(result.lines).toEqual(['ids.yml:6:9: phases[1].id: duplicate phase id "a"']);
  });

  it("reports an undefined template variable inside a block prompt, at the variable", async () => {
    const result = await validate(
      "var.yml",
      `${HEAD}  - id: a\n    task: code\n    prompt: |\n      Read {{ issue.tittle }} now.\n`,
    );
    expect(result.lines).toEqual([
      'var.yml:6:15: phases[0].prompt: undefined variable "issue.tittle" (did you mean "issue.title"?)',
    ]);
  });

  it("reports a phase output read before that phase runs", async () => {
    const text = `${HEAD}  - id: a\n    task: code\n    prompt: "{{ phases.b.output }}"\n  - id: b\n    task: code\n    prompt: y\n`;
    const result = await validate("order.yml", text);
    expect(result.lines).toEqual([
      'order.yml:5:17: phases[0].prompt: "phases.b.output" is read before phase "b" runs (or "b" has no output)',
    ]);
  });

  it("reports a weight that is not above zero and a threshold outside 0..1", async () => {
    const text = `${HEAD}  - id: a\n    task: code\n    prompt: y\n    gates:\n      - judge:\n          threshold: 1.2\n          criteria:\n            - { name: c, weight: 0, rubric: r }\n`;
    const result = await validate("judge.yml", text);
    expect(result.lines).toEqual([
      "judge.yml:8:22: phases[0].gates[0].judge.threshold: threshold must be between 0 and 1",
      "judge.yml:10:34: phases[0].gates[0].judge.criteria[0].weight: weight must be greater than 0",
    ]);
  });

  it("reports a prompt file that does not exist", async () => {
    const result = await validate(
      "file.yml",
      `${HEAD}  - id: a\n    task: code\n    prompt: prompts/missing.md\n`,
    );
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(
      /^file\.yml:5:13: phases\[0\]\.prompt: prompt file "prompts\/missing\.md" does not exist/,
    );
  });

  it("accepts a prompt file next to the pipeline and checks the variables inside it, in that file", async () => {
    const result = await validate("ok.yml", `${HEAD}  - id: a\n    task: code\n    prompt: prompts/a.md\n`, {
      "prompts/a.md": "Line one\nUse {{ repo.nmae }}\n",
    });
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(
      /prompts\/a\.md:2:8: phases\[0\]\.prompt: undefined variable "repo\.nmae" \(did you mean "repo\.name"\?\)$/,
    );
  });

  it("rejects the agent and subagent executors as not supported yet", async () => {
    const result = await validate(
      "exec.yml",
      `${HEAD}  - id: a\n    task: code\n    executor: subagent\n    prompt: y\n`,
    );
    expect(result.lines).toEqual([
      'exec.yml:5:15: phases[0].executor: executor "subagent" is not supported yet; use "llm"',
    ]);
  });

  it("checks a wait phase's duration", async () => {
    const result = await validate("wait.yml", `${HEAD}  - id: cool\n    wait: 24 hours\n`);
    expect(result.lines).toEqual([
      'wait.yml:4:11: phases[0].wait: must be a duration such as "30m", "24h" or "1d12h"',
    ]);
  });

  it("exits 1 when any of several files is broken, and names each file", async () => {
    const good = tempFile("good.yml", `${HEAD}  - id: a\n    task: code\n    prompt: y\n`);
    const bad = tempFile("bad.yml", "name: x\n");
    const io = captureIo();
    expect(await main(["validate", good, bad], io)).toBe(1);
    expect(io.stdout).toEqual([`${good}: ok (1 phases)`]);
    expect(io.stderr[0]).toBe(`${bad}:1:1: missing required field "phases"`);
  });

  it("refuses a prompt that runs over the render limits, at the loop's line and column", async () => {
    const loop = "{% for a in (1..100000) %}{% for b in (1..100000) %}{% endfor %}{% endfor %}";
    const result = await validate(
      "runaway.yml",
      `${HEAD}  - id: a\n    task: code\n    prompt: |\n      Read it.\n      ${loop}\n`,
    );
    expect(result.code).toBe(1);
    expect(result.lines).toEqual([
      expect.stringMatching(
        /^runaway\.yml:7:\d+: phases\[0\]\.prompt: template error: the template ran over its (render time|memory) limit/,
      ),
    ]);
  });

  it("refuses a filter on an untrusted value, which would see a sealed placeholder, not the text", async () => {
    const result = await validate(
      "filter.yml",
      `${HEAD}  - id: a\n    task: code\n    prompt: |\n      Read {{ issue.body | strip_html }}\n`,
    );
    expect(result.lines).toEqual([
      'filter.yml:6:15: phases[0].prompt: "issue.body" is untrusted: a template can only output it as it is, {{ issue.body }}; a filter, tag or comparison sees a sealed placeholder, not the text',
    ]);
  });
});

/** Writes files under a fresh folder; returns the folder. */
function folder(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Runs validate from the folder's parent, naming things relative to it, so lines read as a person sees them. */
async function validateIn(dir: string, args: string[]) {
  const io = captureIo();
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const code = await main(["validate", ...args], io);
    return { code, stdout: io.stdout, stderr: io.stderr };
  } finally {
    process.chdir(cwd);
  }
}

const GOOD = `${HEAD}  - id: a\n    task: code\n    prompt: y\n`;

describe("atomic-scrum validate on a folder (issue 12)", () => {
  it("checks every pipeline in it and in its pipelines/ and .github/ layouts, and says what it skipped", async () => {
    const dir = folder({
      "a.yml": GOOD,
      "b.yaml": `${HEAD}  - id: a\n    task: cod\n    prompt: y\n`,
      "app.yml": "name: my app\ndefault_events: [issues]\n",
      "pipelines/c.yml": GOOD,
      "pipelines/scenarios/c/clean-run.yml": "name: clean run\nissue: { number: 1 }\n",
      ".github/pipelines/d.yml": GOOD,
      ".github/workflows/ci.yml": "on: push\njobs: {}\n",
      "notes/e.yml": GOOD,
    });
    const result = await validateIn(dir, ["."]);
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([
      "skipped app.yml: no top-level phases: key, so not a pipeline",
      "skipped pipelines/scenarios: scenario files, not pipelines: `atomic-scrum test <pipeline>` checks them",
      "a.yml: ok (1 phases)",
      "pipelines/c.yml: ok (1 phases)",
      ".github/pipelines/d.yml: ok (1 phases)",
    ]);
    expect(result.stderr).toEqual([
      'b.yaml:4:11: phases[0].task: expected one of research | write | code | review | mechanical, got "cod"',
      "1 problem(s) found",
    ]);
  });

  it("calls a folder without pipelines an error, and a missing path one line, without a trace", async () => {
    const dir = folder({ "empty/README.md": "# none\n", "scenarios/x/run.yml": "name: run\n" });
    const result = await validateIn(dir, ["empty", "scenarios/x", "nope.yml"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([
      "skipped scenarios/x: scenario files, not pipelines: `atomic-scrum test <pipeline>` checks them",
    ]);
    expect(result.stderr).toEqual([
      "empty: no pipeline files in empty: looked for *.yml and *.yaml with a phases: key, there and in pipelines/ and .github/",
      "scenarios/x: no pipeline files in scenarios/x (1 skipped, listed above): looked for *.yml and *.yaml with a phases: key, there and in pipelines/ and .github/",
      "nope.yml:1:1: cannot read: no such file",
      "3 problem(s) found",
    ]);
  });

  it("checks a file only once, however many ways it is named", async () => {
    const dir = folder({ "pipelines/c.yml": GOOD });
    const result = await validateIn(dir, [".", "pipelines", "pipelines/c.yml"]);
    expect(result).toEqual({ code: 0, stdout: ["pipelines/c.yml: ok (1 phases)"], stderr: [] });
  });
});

describe("atomic-scrum validate on the repository config (issue 12)", () => {
  const CONFIG = [
    "pipelines:",
    "  atomic:coding: coding",
    "  atomic:docs: .github/pipelines/docs.yml",
    "  atomic:typo: codng",
    "  atomic:gone: pipelines/gone.yml",
    "  atomic:out: ../elsewhere.yml",
    "provider: simulatd",
    "",
  ].join("\n");

  it("reads .github/atomic-scrum.yml as the app does, located, and checks the pipeline each label names", async () => {
    const dir = folder({
      ".github/atomic-scrum.yml": CONFIG,
      ".github/pipelines/docs.yml": `${HEAD}  - id: a\n    task: write\n    prompt: "{{ issue.body | upcase }}"\n`,
    });
    const result = await validateIn(dir, [".github/atomic-scrum.yml"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toEqual([
      '.github/atomic-scrum.yml:4:16: pipelines.atomic:typo: unknown pipeline "codng": built-in pipelines are coding, content (did you mean "coding"?); or give the repository path to a .yml file',
      '.github/atomic-scrum.yml:5:16: pipelines.atomic:gone: pipeline file "pipelines/gone.yml" not found (looked for pipelines/gone.yml): the label would start nothing',
      '.github/atomic-scrum.yml:6:15: pipelines.atomic:out: pipeline path "../elsewhere.yml" must be inside the repository',
      '.github/atomic-scrum.yml:7:11: provider: expected one of simulated | recorded | anthropic | gemini | openai-compatible, got "simulatd"',
      '.github/pipelines/docs.yml:5:17: phases[0].prompt: "issue.body" is untrusted: a template can only output it as it is, {{ issue.body }}; a filter, tag or comparison sees a sealed placeholder, not the text',
      "5 problem(s) found",
    ]);
  });

  it("says which label starts what when the config is good, in a folder too", async () => {
    const dir = folder({
      ".github/atomic-scrum.yml":
        "pipelines:\n  atomic:coding: coding\n  atomic:docs: /.github/pipelines/docs.yml\n",
      ".github/pipelines/docs.yml": GOOD,
    });
    const result = await validateIn(dir, ["."]);
    expect(result).toEqual({
      code: 0,
      stdout: [
        ".github/pipelines/docs.yml: ok (1 phases)",
        ".github/atomic-scrum.yml: ok (repository config; atomic:coding → coding, atomic:docs → /.github/pipelines/docs.yml)",
      ],
      stderr: [],
    });
  });

  it("finds the repository from the config's own path, when run inside .github/", async () => {
    const dir = folder({
      ".github/atomic-scrum.yml": "pipelines:\n  atomic:docs: pipelines/docs.yml\n",
      "pipelines/docs.yml": GOOD,
    });
    const result = await validateIn(join(dir, ".github"), ["atomic-scrum.yml"]);
    expect(result).toEqual({
      code: 0,
      stdout: [
        "atomic-scrum.yml: ok (repository config; atomic:docs → pipelines/docs.yml)",
        "../pipelines/docs.yml: ok (1 phases)",
      ],
      stderr: [],
    });
  });

  it("checks any file as the repository config with --config, against the current directory", async () => {
    const dir = folder({
      "draft-config.yml": "pipelines:\n  atomic:docs: docs.yml\nbudget:\n  max_cost: 3\n",
      "docs.yml": GOOD,
    });
    const result = await validateIn(dir, ["--config", "draft-config.yml"]);
    expect(result.stderr).toEqual([
      'draft-config.yml:4:3: budget.max_cost: unknown field "max_cost"',
      "1 problem(s) found",
    ]);
    expect(result.stdout).toEqual(["docs.yml: ok (1 phases)"]);
    expect(result.code).toBe(1);
  });

  it("checks a server settings file with --settings, as run and serve read it", async () => {
    const dir = folder({ "settings.yml": "providers:\n  anthropic:\n    modles: {}\n" });
    const result = await validateIn(dir, ["--settings", "settings.yml"]);
    expect(result.code).toBe(1);
    expect(result.stderr[0]).toMatch(
      /^settings\.yml:3:5: providers\.anthropic\.modles: unknown field "modles"/,
    );
    const good = await validateIn(folder({ "settings.yml": "budget:\n  daily_max_cost_usd: 5\n" }), [
      "--settings",
      "settings.yml",
    ]);
    expect(good).toEqual({ code: 0, stdout: ["settings.yml: ok (server settings)"], stderr: [] });
  });

  it("asks for something to check when given nothing", async () => {
    const io = captureIo();
    expect(await main(["validate"], io)).toBe(1);
    expect(io.stderr).toEqual([
      "name a pipeline file, a folder of pipelines, or --config .github/atomic-scrum.yml",
    ]);
  });
});

describe("the validate examples of the docs print what they show", () => {
  it("docs/pipelines.md: the release-notes pipeline, every problem in one pass", async () => {
    const doc = readFileSync("docs/pipelines.md", "utf8");
    const numbered = /```text\n( 1 {2}name: release-notes\n[\s\S]*?)```/.exec(doc)?.[1] ?? "";
    const pipeline = numbered.replace(/^[ \d]{2} {2}/gm, "");
    const shown = /reports all of its problems in one pass:\n\n```text\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
    expect(pipeline.split("\n").length).toBeGreaterThan(20);
    const result = await validateIn(folder({ "release-notes.yml": pipeline }), ["release-notes.yml"]);
    expect(result.stderr.slice(0, -1)).toEqual(shown.trimEnd().split("\n"));
  });

  it("docs/configuration.md: Check it before you push", async () => {
    const doc = readFileSync("docs/configuration.md", "utf8");
    const shown = /```text\n\$ atomic-scrum validate (\S+)\n([\s\S]*?)```/.exec(doc);
    const config = [
      "pipelines:",
      "  atomic:coding: coding",
      "  atomic:docs: .github/pipelines/doc.yml",
      "provider: anthropc",
      "",
    ].join("\n");
    const dir = folder({ ".github/atomic-scrum.yml": config, ".github/pipelines/docs.yml": GOOD });
    const result = await validateIn(dir, [shown?.[1] ?? ""]);
    expect(result.code).toBe(1);
    expect(result.stderr).toEqual((shown?.[2] ?? "").trimEnd().split("\n"));
  });
});
