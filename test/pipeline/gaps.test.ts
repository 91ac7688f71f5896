import { describe, expect, it } from "vitest";
import { findGaps as allGaps } from "../../src/pipeline/gaps.js";
import { loadPipelineText } from "../../src/pipeline/load-pipeline.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";

/**
 * The gaps of every kind but `untold-assert`, which gaps-untold.test.ts covers: these planted
 * pipelines leave their asserts untold on purpose, to keep each test about one kind.
 */
function findGaps(...args: Parameters<typeof allGaps>) {
  return allGaps(...args).filter((gap) => gap.kind !== "untold-assert");
}

function load(text: string): ResolvedPipeline {
  const loaded = loadPipelineText(text, "planted.yml");
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return loaded.pipeline;
}

/** Kind, phase and field of each gap: what a reader needs to find it. */
function located(pipeline: ResolvedPipeline, options?: Parameters<typeof findGaps>[1]) {
  return findGaps(pipeline, options).map(({ kind, phase, field }) => ({ kind, phase, field }));
}

const SOUND = `
name: sound
phases:
  - id: notes
    task: research
    prompt: "Take notes on {{ issue.title }}"
    gates:
      - assert: { type: min-words, value: 50 }
  - id: draft
    task: write
    prompt: "Write it up from the notes: {{ phases.notes.output }}"
    gates:
      - judge:
          threshold: 0.7
          criteria:
            - { name: faithful, weight: 1, rubric: "Says only what the notes say." }
            - { name: clear, weight: 1, rubric: "A newcomer can follow every step." }
  - id: human-review
    approval: {}
`;

describe("findGaps", () => {
  it("finds nothing in a pipeline whose outputs are read, gated and graded", () => {
    expect(findGaps(load(SOUND))).toEqual([]);
  });

  it("warns of an agent phase after the approval phase: it commits past the approved commit", () => {
    const late = SOUND.replace(
      "  - id: human-review\n    approval: {}\n",
      `  - id: human-review
    approval: {}
  - id: changelog
    task: write
    prompt: "Write the changelog entry for {{ issue.title }} from {{ phases.draft.output }}"
    gates:
      - assert: { type: min-words, value: 5 }
`,
    );
    const gaps = findGaps(load(late)).filter((gap) => gap.kind === "after-approval");
    expect(gaps).toEqual([
      expect.objectContaining({
        kind: "after-approval",
        severity: "warning",
        phase: "changelog",
        field: "changelog",
      }),
    ]);
    expect(gaps[0]?.message).toContain('runs after the approval phase "human-review"');
  });

  it("reports an artifact no later prompt or rubric reads, but not the last agent phase's", () => {
    const unread = SOUND.replace("{{ phases.notes.output }}", "{{ issue.body }}");
    expect(located(load(unread))).toEqual([{ kind: "unread-output", phase: "notes", field: "notes.output" }]);
  });

  it("counts a later rubric as a reader, but not the phase's own rubric", () => {
    const readByRubric = SOUND.replace("{{ phases.notes.output }}", "{{ issue.body }}").replace(
      "Says only what the notes say.",
      "Says only what these notes say: {{ phases.notes.output }}",
    );
    expect(findGaps(load(readByRubric))).toEqual([]);
    const ownRubricOnly = `
name: own
phases:
  - id: notes
    task: research
    prompt: "Take notes on {{ issue.title }}"
    gates:
      - judge:
          threshold: 0.5
          criteria:
            - { name: long, weight: 1, rubric: "The notes below are thorough: {{ phases.notes.output }}" }
  - id: draft
    task: write
    prompt: "Write it up: {{ issue.body }}"
    gates: [{ assert: { type: no-placeholders } }]
`;
    expect(located(load(ownRubricOnly))).toEqual([
      { kind: "unread-output", phase: "notes", field: "notes.output" },
    ]);
  });

  it("leaves file edits alone: the change on the branch is their output", () => {
    const files = `
name: files
phases:
  - id: implement
    task: code
    prompt: "Implement {{ issue.title }}"
    output: { files: true }
    gates: [{ assert: { type: no-placeholders } }]
  - id: notes
    task: write
    prompt: "Release notes for {{ issue.title }}"
    gates: [{ assert: { type: no-placeholders } }]
`;
    expect(findGaps(load(files))).toEqual([]);
  });

  it("reports an agent phase with no gates at its gates field", () => {
    const ungated = SOUND.replace("    gates:\n      - assert: { type: min-words, value: 50 }\n", "");
    expect(located(load(ungated))).toEqual([{ kind: "no-gate", phase: "notes", field: "notes.gates" }]);
  });

  it("reports a judge with no criteria, which only a hand-built pipeline can have", () => {
    const pipeline = load(SOUND);
    const draft = pipeline.phases[1];
    if (draft?.kind !== "agent" || !draft.gates[0] || !("judge" in draft.gates[0])) throw new Error("setup");
    draft.gates[0].judge.criteria = [];
    expect(located(pipeline)).toEqual([
      { kind: "judge-without-criteria", phase: "draft", field: "draft.gates[0].judge.criteria" },
    ]);
  });

  it("reports empty and one-word rubrics, template tags not counting as words", () => {
    const vague = SOUND.replace('rubric: "Says only what the notes say."', 'rubric: "Good."').replace(
      'rubric: "A newcomer can follow every step."',
      'rubric: "{{ phases.notes.output }}"',
    );
    expect(located(load(vague))).toEqual([
      { kind: "vague-rubric", phase: "draft", field: "draft.gates[0].judge.criteria[0].rubric" },
      { kind: "vague-rubric", phase: "draft", field: "draft.gates[0].judge.criteria[1].rubric" },
    ]);
    const blank = load(SOUND);
    const draft = blank.phases[1];
    if (draft?.kind !== "agent" || !draft.gates[0] || !("judge" in draft.gates[0])) throw new Error("setup");
    const first = draft.gates[0].judge.criteria[0];
    if (!first) throw new Error("setup");
    first.rubric = "   ";
    expect(findGaps(blank)[0]).toMatchObject({
      kind: "vague-rubric",
      field: "draft.gates[0].judge.criteria[0].rubric",
      message: expect.stringContaining("is empty"),
    });
  });

  it("reports a judge that passes everything, and notes a criterion too light to fail its gate", () => {
    const lenient = SOUND.replace("threshold: 0.7", "threshold: 0");
    expect(located(load(lenient))).toEqual([
      { kind: "judge-cannot-fail", phase: "draft", field: "draft.gates[0].judge.threshold" },
    ]);
    const floored = lenient.replace('weight: 1, rubric: "Says', 'weight: 1, floor: 0.5, rubric: "Says');
    expect(findGaps(load(floored))).toEqual([]);
    const light = SOUND.replace("{ name: clear, weight: 1,", "{ name: clear, weight: 0.25,");
    expect(findGaps(load(light))).toEqual([
      expect.objectContaining({
        kind: "criterion-cannot-fail",
        severity: "note",
        phase: "draft",
        field: "draft.gates[0].judge.criteria[1].weight",
        message: expect.stringContaining("at 0 with the rest at 1 the score is 0.80, threshold 0.7"),
      }),
    ]);
  });

  it("reports asserts no answer passes, and every phase after them as unreachable", () => {
    const blocked = SOUND.replace(
      "      - assert: { type: min-words, value: 50 }\n",
      "      - assert: { type: min-words, value: 50 }\n      - assert: { type: max-words, value: 20 }\n",
    );
    expect(located(load(blocked))).toEqual([
      { kind: "unpassable-gate", phase: "notes", field: "notes.gates[1].assert" },
      { kind: "unreachable", phase: "draft", field: "notes.gates[1].assert" },
      { kind: "unreachable", phase: "human-review", field: "notes.gates[1].assert" },
    ]);
    const contradictory = SOUND.replace(
      "      - assert: { type: min-words, value: 50 }\n",
      '      - assert: { type: contains, value: "Summary" }\n      - assert: { type: not-contains, value: "Summary" }\n',
    );
    expect(findGaps(load(contradictory))[0]).toMatchObject({
      kind: "unpassable-gate",
      field: "notes.gates[1].assert",
      message: expect.stringContaining("contradicts gates[0]"),
    });
    const empty = SOUND.replace("type: min-words, value: 50", "type: max-words, value: 0");
    expect(findGaps(load(empty))[0]).toMatchObject({
      kind: "unpassable-gate",
      message: expect.stringContaining("an empty document is refused"),
    });
    const compatible = SOUND.replace(
      "      - assert: { type: min-words, value: 50 }\n",
      "      - assert: { type: min-words, value: 50 }\n      - assert: { type: max-words, value: 50 }\n",
    );
    expect(findGaps(load(compatible))).toEqual([]);
  });

  it("reports the phases a budget cannot reach on the cheapest path, at the budget's field", () => {
    const budgeted = SOUND.replace(
      "name: sound\n",
      "name: sound\nbudget: { max_tokens: 5000, max_cost_usd: 1 }\n",
    );
    const pipeline = load(budgeted);
    const fits = [
      { phase: "notes", tokens: 900, costUsd: 0.01 },
      { phase: "draft", tokens: 4_900, costUsd: 0.5 },
    ];
    expect(findGaps(pipeline, { needs: fits })).toEqual([]);
    const over = [fits[0] as (typeof fits)[number], { phase: "draft", tokens: 6_000, costUsd: 0.5 }];
    expect(located(pipeline, { needs: over })).toEqual([
      { kind: "unreachable", phase: "draft", field: "budget.max_tokens" },
      { kind: "unreachable", phase: "human-review", field: "budget.max_tokens" },
    ]);
    const dear = [{ phase: "notes", tokens: 900, costUsd: 1.5 }];
    expect(located(pipeline, { needs: dear })[0]).toEqual({
      kind: "unreachable",
      phase: "notes",
      field: "budget.max_cost_usd",
    });
  });
});

describe("findGaps on hostile rubrics", () => {
  it("reads a rubric full of unclosed tags in one pass, and still counts its words", () => {
    const pipeline = load(SOUND);
    const draft = pipeline.phases[1];
    if (draft?.kind !== "agent" || !("judge" in (draft.gates[0] ?? {}))) throw new Error("SOUND changed");
    const gate = draft.gates[0] as Extract<(typeof draft.gates)[number], { judge: unknown }>;
    // A `{% raw %}` block lets unclosed `{{` through validate; each one restarted a lazy regex's scan.
    const hostile = (words: string) => `${words} {% raw %}${"{{ ".repeat(33_000)}{% endraw %}`;
    gate.judge.criteria = [
      { ...(gate.judge.criteria[0] as (typeof gate.judge.criteria)[number]), rubric: hostile("") },
      {
        ...(gate.judge.criteria[1] as (typeof gate.judge.criteria)[number]),
        rubric: hostile("Names {{ issue.title }} the function {% if true %}clearly{% endif %}"),
      },
    ];
    const vague = findGaps(pipeline).filter((gap) => gap.kind === "vague-rubric");
    expect(vague.map((gap) => gap.field)).toEqual(["draft.gates[0].judge.criteria[0].rubric"]);
  }, 2_000);
});
