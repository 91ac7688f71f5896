import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import { runCli as cli } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { yamlBlocks } from "../helpers/markdown.js";
import { tempDir } from "../helpers/temp.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

const doc = readFileSync("docs/gates.md", "utf8");
const section = doc.slice(doc.indexOf("## Mutation testing"));
const shownBlocks = [...section.matchAll(/```text\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");

/** The full output the doc shows for a command (the section opens with an excerpt of one). */
function shown(command: string): string {
  const block = shownBlocks.findLast((text) => text.startsWith(`$ ${command}\n`));
  if (!block) throw new Error(`docs/gates.md shows no output of "${command}"`);
  return block;
}

/** SMALL_PIPELINE's phases: research (a judge only), implement (a paths assert only), human-review. */
const SMALL_CLEAN = `name: small clean run
issue: { number: 7, title: Trim the input, body: Inputs arrive with stray spaces. }
approve: true
cassettes:
  research:
    - agent: "Inputs need trimming before they are stored; the issue names no other change."
      judge:
        grounded: { score: 0.98, reason: Every claim comes from the issue text. }
        complete: { score: 0.99, reason: The one request in the issue is covered. }
  implement:
    - agent:
        summary: Trims the input where it is read.
        files: [{ path: src/trim.ts, content: "export const trim = (s: string) => s.trim();\\n" }]
expect:
  status: succeeded
  phases:
    research: { attempts: 1, gates: [pass] }
    implement: { attempts: 1, gates: [pass] }
`;

/** The small pipeline and a scenario folder for it; returns the pipeline's path. */
function small(pipeline = SMALL_PIPELINE, scenarios: Record<string, string> = { "clean.yml": SMALL_CLEAN }) {
  const root = tempDir();
  writeFileSync(join(root, "small.yml"), pipeline);
  const dir = join(root, "scenarios", "small");
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(scenarios)) writeFileSync(join(dir, name), text);
  return { pipeline: join(root, "small.yml"), dir, root };
}

describe("atomic-scrum test --mutate", () => {
  it("catches every kind of mutation in every phase of the coding pipeline, as docs/gates.md shows", async () => {
    const result = await cli("test", "coding", "--mutate");
    expect(result.err).toBe("");
    expect(`$ atomic-scrum test coding --mutate\n${result.out}\n`).toBe(
      shown("atomic-scrum test coding --mutate"),
    );
    expect(result.out).toContain(
      "by kind: empty 6 of 6, truncated 6 of 6, off-topic 6 of 6, placeholder 6 of 6, outside-paths 3 of 3",
    );
    expect(result.out).not.toContain("✗");
    expect(result.out.split("\n").at(-1)).toBe("27 of 27 mutations caught (100%)");
    expect(result.code).toBe(0);
  });

  it("catches every kind of mutation in every phase of the content pipeline, as docs/gates.md shows", async () => {
    const result = await cli("test", "pipelines/content.yml", "--mutate");
    expect(result.err).toBe("");
    expect(`$ atomic-scrum test content --mutate\n${result.out}\n`).toBe(
      shown("atomic-scrum test content --mutate"),
    );
    expect(result.out).toContain(
      "by kind: empty 6 of 6, truncated 6 of 6, off-topic 6 of 6, placeholder 6 of 6, voice-sanded 3 of 3",
    );
    expect(result.out).toContain(
      "not applied to research, fact-check, red-team: voice-sanded: the phase's prompt does not ask for the house voice",
    );
    expect(result.out.split("\n").at(-1)).toBe("27 of 27 mutations caught (100%)");
    expect(result.code).toBe(0);
  });

  it("shows at the top of its section an excerpt of the real content report", async () => {
    const result = await cli("test", "content", "--mutate");
    const excerpt = shownBlocks[0] ?? "";
    const lines = excerpt.trimEnd().split("\n").slice(1);
    let from = 0;
    for (const line of lines.filter((l) => l !== "…")) {
      const at = result.out.split("\n").indexOf(line, from);
      expect(at, `"${line}" in order in the real report`).toBeGreaterThanOrEqual(from);
      from = at + 1;
    }
  });

  it("fails and names each kind of mutation that got through every gate of its phase", async () => {
    const { pipeline } = small();
    const result = await cli("test", pipeline, "--mutate");
    expect(result.out.slice(result.out.indexOf("\nresearch"))).toMatchInlineSnapshot(`
      "
      research            good       empty        truncated    off-topic    placeholder  caught
        judge             pass 0.95  caught 0.00  caught 0.28  caught 0.00  caught 0.19  4 of 4
        caught by a gate             yes          yes          yes          yes

      implement           good  empty  truncated  off-topic  placeholder  outside-paths  caught
        assert paths      pass  pass   pass       pass       pass         caught         1 of 5
        caught by a gate        NO     NO         NO         NO           yes

      by kind: empty 1 of 2, truncated 1 of 2, off-topic 1 of 2, placeholder 1 of 2, outside-paths 1 of 1
      not applied to research: outside-paths: a document phase writes one file the pipeline names
      not applied to any phase: voice-sanded: the pipeline has no voice_style
      ✗ implement: empty got through every gate
      ✗ implement: truncated got through every gate
      ✗ implement: off-topic got through every gate
      ✗ implement: placeholder got through every gate
      5 of 9 mutations caught (55%)"
    `);
    expect(result.code).toBe(1);
  });

  it("reports a good output its own gates refuse: a catch there would prove nothing", async () => {
    // The recorded judge gives 0.98; the heuristic stand-in gives a good output 0.95.
    const { pipeline } = small(SMALL_PIPELINE.replace("threshold: 0.6", "threshold: 0.97"));
    const result = await cli("test", pipeline, "--mutate");
    expect(result.out).toContain("  judge             FAIL 0.95");
    expect(result.out).toContain(
      "✗ research: the good output fails its own gates (judge), so a catch there proves nothing",
    );
    expect(result.code).toBe(1);
  });

  it("starts from the scenario --scenario names, by file name or by name", async () => {
    const byFile = await cli("test", "content", "--mutate", "--scenario", "escalation");
    expect(byFile.out.split("\n")[0]).toBe(
      'atomic-scrum test --mutate · content · good outputs from "the copy edit escalates from fast to balanced" (pipelines/scenarios/content/escalation.yml)',
    );
    // The copy edit passed on its fourth attempt: that answer is the good one.
    expect(byFile.out).toMatch(/\nmechanical-revision .*\n {2}assert no-placeholders {2}pass /);
    expect(byFile.code).toBe(0);
    const byName = await cli(
      "test",
      "content",
      "--mutate",
      "--scenario",
      "a thin fact-check that a retry fixes",
    );
    expect(byName.out.split("\n")[0]).toContain('good outputs from "a thin fact-check that a retry fixes"');
    expect(byName.code).toBe(0);
  });

  it("says where it looked when no scenario fits", async () => {
    const unknown = await cli("test", "coding", "--mutate", "--scenario", "nope");
    expect(unknown.err).toBe(
      'no scenario "nope" in pipelines/scenarios/coding: name a file there (with or without .yml) or a scenario\'s name',
    );
    expect(unknown.code).toBe(1);
    const retried = SMALL_CLEAN.replace(
      "research: { attempts: 1, gates: [pass] }",
      "research: { attempts: 1 }",
    ).replace("implement: { attempts: 1, gates: [pass] }", "implement: { gates: [pass] }");
    const { pipeline, dir } = small(SMALL_PIPELINE, { "clean.yml": retried });
    const none = await cli("test", pipeline, "--mutate", "--scenarios", dir);
    expect(none.err).toBe(
      `no scenario in ${dir} says every phase passes on its first attempt; name the scenario to start from with --scenario`,
    );
    expect(none.code).toBe(1);
  });

  it("refuses its own options without --mutate", async () => {
    const result = await cli("test", "coding", "--scenario", "clean-run", "--provider", "anthropic");
    expect(result.err).toBe("--scenario and --provider are only for --mutate");
    expect(result.code).toBe(1);
  });

  it("names the key to set before grading with a real provider", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", "");
    const result = await cli("test", "coding", "--mutate", "--provider", "anthropic");
    expect(result.err).toBe("--provider anthropic: set ANTHROPIC_API_KEY to grade with real models");
    expect(result.out).toBe("");
    expect(result.code).toBe(1);
  });

  it("with --provider, counts the judge calls first, then grades through the real adapter", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef");
    vi.stubEnv("GEMINI_API_KEY", "");
    vi.stubEnv("GOOGLE_API_KEY", "");
    vi.stubEnv("ATOMIC_SCRUM_SETTINGS", "");
    const bodies: string[] = [];
    // A judge that knows the good answer: a stand-in for a model, to see its grades reach the report.
    nock("https://api.anthropic.com")
      .post("/v1/messages")
      .times(10)
      .reply(200, (_uri, body) => {
        const sent = JSON.stringify(body);
        bodies.push(sent);
        const score = /TODO|As an AI/.test(sent) ? 0.3 : sent.includes("names no other change") ? 0.9 : 0.1;
        return anthropicMessage(JSON.stringify({ score, reason: "Graded by the test's fake model." }));
      });
    const { pipeline } = small();
    const result = await cli("test", pipeline, "--mutate", "--provider", "anthropic");
    const lines = result.out.split("\n");
    expect(lines[1]).toBe(
      "judge: real models, as a run with --provider anthropic would use them; this spends tokens",
    );
    expect(lines[2]).toMatch(
      /^ {2}10 judge calls to make: 10 to anthropic\/claude-opus-5-5 \(about \$0\.\d\d\)$/,
    );
    expect(result.out).toContain(
      "  judge             pass 0.90  caught 0.10  caught 0.10  caught 0.10  caught 0.30  4 of 4",
    );
    expect(bodies).toHaveLength(10);
    expect(bodies.every((body) => body.includes("You are a strict, fair judge"))).toBe(true);
    expect(result.err).toBe("");
    expect(result.code).toBe(1);
  });

  it("prints the estimate docs/gates.md shows before grading the coding pipeline with real judges", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef");
    vi.stubEnv("GEMINI_API_KEY", "");
    vi.stubEnv("GOOGLE_API_KEY", "");
    vi.stubEnv("ATOMIC_SCRUM_SETTINGS", "");
    nock("https://api.anthropic.com")
      .post("/v1/messages")
      .times(57)
      .reply(200, () => anthropicMessage('{"score": 0.9, "reason": "Fine."}'));
    const result = await cli("test", "coding", "--mutate", "--provider", "anthropic");
    const head = result.out.split("\n").slice(0, 3).join("\n");
    expect(`$ atomic-scrum test coding --mutate --provider anthropic\n${head}\n`).toBe(
      shown("atomic-scrum test coding --mutate --provider anthropic"),
    );
  });

  it("documents pipelines that validate", () => {
    const start = doc.indexOf("## Scenario tests");
    const end = doc.indexOf("\n## ", start + 1);
    // The scenario-tests section's blocks are a pipeline and a scenario, run by scenarios.test.ts.
    const outside = doc.slice(0, start) + doc.slice(end);
    const blocks = yamlBlocks(outside, "docs/gates.md");
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      const file = join(tempDir(), "example.yml");
      writeFileSync(file, block.text);
      const loaded = loadPipelineFile(file);
      expect(loaded.ok ? [] : loaded.problems.map(formatProblem)).toEqual([]);
    }
  });
});

/** A Messages API answer with the given text, shaped as the API reference documents it. */
function anthropicMessage(text: string) {
  return {
    id: "msg_01XFDUDYJgAACzvnptvVoYEL",
    type: "message",
    role: "assistant",
    model: "claude-opus-5-5",
    content: [{ type: "text", text, citations: null }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: {
      input_tokens: 400,
      output_tokens: 30,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      service_tier: "standard",
    },
  };
}
