import { describe, expect, it } from "vitest";
import { askedLength, mostWords } from "../../src/pipeline/asked-length.js";
import { findGaps } from "../../src/pipeline/gaps.js";
import { loadPipelineFile, loadPipelineText } from "../../src/pipeline/load-pipeline.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";

function load(text: string): ResolvedPipeline {
  const loaded = loadPipelineText(text, "planted.yml");
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return loaded.pipeline;
}

function untold(pipeline: ResolvedPipeline) {
  return findGaps(pipeline)
    .filter((gap) => gap.kind === "untold-assert")
    .map(({ severity, phase, field, message }) => ({ severity, phase, field, message }));
}

/** One agent phase with this prompt and these asserts (YAML flow mappings). */
function phase(prompt: string, asserts: string[], output = ""): ResolvedPipeline {
  return load(`
name: told
phases:
  - id: work
    task: write
    prompt: ${JSON.stringify(prompt)}
    ${output}
    gates:
${asserts.map((a) => `      - assert: ${a}`).join("\n")}
`);
}

describe("dry-run gap: untold-assert", () => {
  it("warns of a word limit the prompt never states, naming the assert and what to say", () => {
    const gaps = untold(
      phase("Write a changelog entry for {{ issue.title }}", ["{ type: max-words, value: 120 }"]),
    );
    expect(gaps).toEqual([
      {
        severity: "warning",
        phase: "work",
        field: "work.gates[0].assert",
        message: expect.stringContaining(
          'max-words 120: the prompt sets no length, and the assert allows at most 120 words: say so ("at most 120 words")',
        ),
      },
    ]);
    expect(gaps[0]?.message).toContain("only judge rubrics are held out");
  });

  it("counts a limit in words, or in sentences, lines and bullets of the task statement, as told", () => {
    for (const prompt of [
      "Write a changelog entry of at most 120 words for {{ issue.title }}",
      "Write a changelog entry for {{ issue.title }}, under 100 words.",
      "Write a 90-word changelog entry for {{ issue.title }}",
      "Summarise {{ issue.title }} in three sentences.",
      "Write a changelog entry: one line saying what changed, then at most three bullet points.",
    ]) {
      expect(untold(phase(prompt, ["{ type: max-words, value: 120 }"])), prompt).toEqual([]);
    }
  });

  it("warns when the prompt's own limit is looser than the assert's, and when a minimum is too low", () => {
    const loose = untold(
      phase("Write at most 500 words on {{ issue.title }}", ["{ type: max-words, value: 120 }"]),
    );
    expect(loose[0]?.message).toContain("the prompt allows about 500 words, the assert at most 120");
    const low = untold(
      phase("Write at least 100 words on {{ issue.title }}", ["{ type: min-words, value: 300 }"]),
    );
    expect(low[0]?.message).toContain("the prompt asks for at least 100 words, the assert for at least 300");
    expect(
      untold(phase("Write 300 to 500 words on {{ issue.title }}", ["{ type: min-words, value: 300 }"])),
    ).toEqual([]);
  });

  it("does not count a sentence count that describes a part, or a length inside a template fence", () => {
    const part = "Review {{ issue.title }}.\n\nGive the fix in one or two sentences.";
    expect(untold(phase(part, ["{ type: max-words, value: 120 }"]))).toHaveLength(1);
    const fenced = "Review {{ issue.title }} in this shape:\n```\n## Problem\nAt most 50 words.\n```";
    expect(untold(phase(fenced, ["{ type: max-words, value: 120 }"]))).toHaveLength(1);
  });

  it("wants the literal text of contains, and an example line for regex", () => {
    const asserts = [
      '{ type: contains, value: "AC1" }',
      '{ type: regex, value: "Verdict: (approve|request changes)" }',
    ];
    expect(untold(phase("Review {{ issue.title }}", asserts)).map((g) => g.field)).toEqual([
      "work.gates[0].assert",
      "work.gates[1].assert",
    ]);
    const told =
      'Number the criteria AC1, AC2, ... and end with "Verdict: approve" or "Verdict: request changes". {{ issue.title }}';
    expect(untold(phase(told, asserts))).toEqual([]);
  });

  it("counts an anchored regex as told by a line or a quoted example the pattern matches", () => {
    // The assert checks the whole answer, so ^ is its start and $ its end; in the prompt the
    // example the author shows is a line of it or a quoted span, never the prompt's own start.
    for (const told of [
      "Write a plan for {{ issue.title }}.\nPlan: <one line>\nthen the steps.",
      'Write a plan for {{ issue.title }}. Start with the line "Plan: ready".',
      "Write a plan for {{ issue.title }}. Begin your answer with `Plan: ready`.",
    ]) {
      expect(untold(phase(told, ['{ type: regex, value: "^Plan: " }'])), told).toEqual([]);
    }
    const end = 'Review {{ issue.title }}. End with the line "Verdict: approve" or "Verdict: reject".';
    expect(untold(phase(end, ['{ type: regex, value: "Verdict: (approve|reject)$" }']))).toEqual([]);
    expect(
      untold(phase("Write a plan for {{ issue.title }}.", ['{ type: regex, value: "^Plan: " }'])),
    ).toHaveLength(1);
  });

  it("does not count text that only the issue could supply", () => {
    const gaps = untold(phase("Answer {{ issue.body }}", ['{ type: contains, value: "issue" }']));
    expect(gaps).toHaveLength(1);
  });

  it("wants JSON asked for, and every required field named", () => {
    const schema = "{ type: json-schema, value: { type: object, required: [title, labels] } }";
    expect(untold(phase("Triage {{ issue.title }}", [schema]))[0]?.message).toContain("never asks for JSON");
    expect(
      untold(phase("Triage {{ issue.title }} as a JSON object with a `title`.", [schema]))[0]?.message,
    ).toContain('required field(s) "labels"');
    expect(
      untold(phase("Answer with a JSON object: a `title` and the `labels`. {{ issue.title }}", [schema])),
    ).toEqual([]);
    expect(untold(phase("Triage {{ issue.title }}", ["{ type: is-json }"]))).toHaveLength(1);
  });

  it("wants a paths assert's places named, and a named one is enough", () => {
    const paths = '{ type: paths, value: ["src/**", "test/**"] }';
    const gaps = untold(phase("Fix {{ issue.title }}", [paths], "output: { files: true }"));
    expect(gaps[0]?.message).toContain(
      'names none of the places the paths assert allows (src/**, test/**): tell the agent where it may write, e.g. "change only files under src/"',
    );
    expect(
      untold(
        phase("Fix {{ issue.title }}; change only files under `src/`.", [paths], "output: { files: true }"),
      ),
    ).toEqual([]);
    const docs = '{ type: paths, value: ["README.md", "docs/**/*.md"] }';
    expect(
      untold(phase("Fix typos in README.md. {{ issue.title }}", [docs], "output: { files: true }")),
    ).toEqual([]);
  });

  it("asks nothing for asserts a capable model meets unasked: no-placeholders and the negated text checks", () => {
    const asserts = [
      "{ type: no-placeholders }",
      '{ type: not-regex, value: "(?i)seamless" }'.replace("(?i)", ""),
      '{ type: not-contains, value: "TODO" }',
      "{ type: not-is-json }",
    ];
    expect(untold(phase("Write about {{ issue.title }}", asserts))).toEqual([]);
    // A negated word limit is still a limit: not-min-words 101 is at most 100 words.
    expect(
      untold(phase("Write about {{ issue.title }}", ["{ type: not-min-words, value: 101 }"])),
    ).toHaveLength(1);
    expect(
      untold(phase("Write at most 100 words on {{ issue.title }}", ["{ type: not-min-words, value: 101 }"])),
    ).toEqual([]);
  });

  it("finds no untold assert in the built-in pipelines: their prompts tell the agent every assert", () => {
    for (const name of ["coding", "content"]) {
      const loaded = loadPipelineFile(`pipelines/${name}.yml`);
      if (!loaded.ok) throw new Error(`${name}.yml does not load`);
      expect(untold(loaded.pipeline), name).toEqual([]);
    }
  });
});

describe("askedLength", () => {
  it("reads word ranges, limits and units the way a reader would", () => {
    expect(askedLength("Length: 700 to 1,200 words.")).toEqual({ minWords: 700, maxWords: 1200 });
    expect(askedLength("Keep it under 400 words.")).toEqual({ maxWords: 399 });
    expect(askedLength("No fewer than 150 words.")).toEqual({ minWords: 150 });
    expect(askedLength("Write one line saying what changed, then at most three bullet points.")).toEqual({
      lines: 1,
      bullets: 3,
    });
    expect(mostWords(askedLength("Summarise it in a paragraph."))).toBe(120);
    expect(askedLength("Write one line per finding.")).toEqual({});
  });

  it("takes the task statement after a heading, as a prompt file starts", () => {
    expect(
      askedLength("# Summary\n\nSummarise the issue in three sentences.\n\nOne line per finding."),
    ).toEqual({
      sentences: 3,
    });
    expect(askedLength("## Task\n\n### Now\n\nWrite one line, then at most three bullet points.")).toEqual({
      lines: 1,
      bullets: 3,
    });
  });

  it("reads a negated minimum as a maximum, and a limit put after its number", () => {
    // "no more than 120" is at most 120: it was also read as "more than 120", a minimum of 121.
    expect(askedLength("Write no more than 120 words.")).toEqual({ maxWords: 120 });
    expect(askedLength("Write not more than 120 words.")).toEqual({ maxWords: 120 });
    expect(askedLength("Keep it to no longer than 120 words.")).toEqual({ maxWords: 120 });
    expect(askedLength("The summary: 120 words max.")).toEqual({ maxWords: 120 });
    expect(askedLength("Write 80 words at most.")).toEqual({ maxWords: 80 });
    expect(askedLength("Write more than 150 words.")).toEqual({ minWords: 151 });
    const told = phase("Summarise {{ issue.title }} in no more than 120 words.", [
      "{ type: min-words, value: 100 }",
    ]);
    expect(untold(told)).toHaveLength(1);
  });
});
