import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findRubricLeak } from "../../src/engine/holdout.js";
import { holdOutContext } from "../../src/engine/holdout-context.js";
import { holdoutViolation } from "../../src/engine/holdout-violation.js";
import { untrusted } from "../../src/engine/template-context.js";
import { startRun } from "../../src/local/run-commands.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import type { Fixtures } from "../../src/providers/recorded.js";
import { getRun } from "../../src/store/runs.js";
import { ISSUE, loadPipeline, openApp, recording } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

const RUBRIC = "Names the exact function that trims and says which inputs it refuses.";
/** Seven words of the rubric with Cyrillic look-alike letters: what a copy in the docs may look like. */
const DISGUISED = "trim\u0455 \u0430nd s\u0430ys which in\u0440uts it r\u0435fus\u0435s";
const PROMPT = "Write about the issue: {{ issue.title }} {{ issue.body }}\n";

/** A pipeline kept in the repository, its prompt in a file beside it, as a repository documents it. */
const PIPELINE = `name: judged
phases:
  - id: write
    task: write
    prompt: prompts/write.md
    context: ["README.md", "docs/**", "pipelines/**", ".github/**"]
    output: { artifact: "notes/{{ issue.number }}/write.md" }
    on_fail: { retries: 0, escalate: false }
    gates:
      - judge:
          threshold: 0.8
          tier: fast
          criteria:
            - { name: secret-criterion, weight: 1, rubric: '${RUBRIC}' }
`;

const REPO = {
  "README.md": "# trimmer\n\nTrims strings.\n",
  "docs/guide.md": `# Guide\n\nThe judge checks that the text ${DISGUISED}.\n`,
  "docs/usage.md": "# Usage\n\nRun `trim` on a file.\n",
  "pipelines/judged.yml": PIPELINE,
  "pipelines/prompts/write.md": PROMPT,
  ".github/atomic-scrum.yml": "labels:\n  atomic:write: judged\n",
};

const PASS: Fixtures = {
  write: [{ agent: "A draft.", judge: { "secret-criterion": { score: 0.9, reason: "good" } } }],
};

/** Runs the repository's own pipeline on a temp repository; what the model was sent, and how the run ended. */
async function runInRepo(files: Record<string, string>, issue = ISSUE, fixtures = PASS) {
  const repo = tempRepo(files);
  const provider = recording(fixtures);
  const app = openApp(repo, { provider });
  const path = join(repo, "pipelines/judged.yml");
  const loaded = loadPipelineFile(path);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join("\n"));
  const run = startRun(app, { pipeline: loaded.pipeline, hash: loaded.hash, pipelinePath: path, issue });
  await app.worker.runUntilIdle();
  const state = getRun(app.db, run.id)?.state;
  const agents = provider.requests.filter((request) => request.purpose.kind === "agent");
  const readComment = () => readFileSync(join(app.runsDir, run.id, "comments", "01-write.md"), "utf8");
  const result = { state, agents, pipeline: loaded.pipeline, readComment };
  return { result, close: () => app.close() };
}

describe("holdout > context files", () => {
  const { pipeline } = loadPipeline(PIPELINE.replace("prompts/write.md", JSON.stringify(PROMPT)));

  it("leaves out a file quoting a rubric in disguise, every pipeline file and the repository configuration, and keeps the rest", () => {
    const read = {
      files: Object.entries(REPO).map(([path, content]) => ({ path, content })),
      omitted: [{ path: "docs/big.md", reason: "maxBytes: 9 bytes, only 1 of 10 left" }],
    };
    const { context, heldOut } = holdOutContext(read, pipeline);
    expect(context.files.map((file) => file.path)).toEqual([
      "README.md",
      "docs/usage.md",
      "pipelines/prompts/write.md",
    ]);
    expect(heldOut).toEqual([
      { path: "docs/guide.md", reason: "holdout: contains the rubric of write: secret-criterion" },
      { path: "pipelines/judged.yml", reason: "holdout: pipeline file" },
      { path: ".github/atomic-scrum.yml", reason: "holdout: repository configuration" },
    ]);
    // The agent's list names no criterion: agents never read criterion names.
    expect(context.omitted).toEqual([
      { path: ".github/atomic-scrum.yml", reason: "holdout: repository configuration" },
      { path: "docs/big.md", reason: "maxBytes: 9 bytes, only 1 of 10 left" },
      { path: "docs/guide.md", reason: "holdout: quotes a rubric" },
      { path: "pipelines/judged.yml", reason: "holdout: pipeline file" },
    ]);
  });

  it("leaves out the run's own prompt file, known by its text wherever it lies, but not a YAML file without phases", () => {
    const fromFile = loadPipelineFile(
      join(
        tempRepo({ "p/judged.yml": PIPELINE.replace("prompts/write.md", "write.md"), "p/write.md": PROMPT }),
        "p/judged.yml",
      ),
    );
    if (!fromFile.ok) throw new Error("the pipeline does not load");
    const read = {
      files: [
        { path: "elsewhere/copy-of-prompt.md", content: PROMPT },
        { path: "config/app.yml", content: "name: app\nsteps:\n  phases: 3\n" },
      ],
      omitted: [],
    };
    const { context, heldOut } = holdOutContext(read, fromFile.pipeline);
    expect(heldOut).toEqual([
      { path: "elsewhere/copy-of-prompt.md", reason: "holdout: prompt file of phase write" },
    ]);
    expect(context.files.map((file) => file.path)).toEqual(["config/app.yml"]);
  });
});

describe("holdout > where a rubric that cannot be left out comes from", () => {
  const { pipeline } = loadPipeline(PIPELINE.replace("prompts/write.md", JSON.stringify(PROMPT)));
  const system = "You are the phase.";

  it.each([
    ["issue.body", "the issue body"],
    ["issue.title", "the issue title"],
    ["phases.research.output", 'the output of phase "research"'],
  ])("a rubric inside the %s block is named as coming from %s", (source, named) => {
    const prompt = `Do it.\n\n${untrusted(source, `It ${DISGUISED}.`)}`;
    expect(holdoutViolation({ system, prompt }, pipeline, "write")).toMatch(
      new RegExp(
        `^${named}, quoted in the prompt of phase "write", contains the rubric of write: secret-criterion`,
      ),
    );
  });

  it("a rubric in the prompt template, the system text, or only across parts is named as such", () => {
    expect(holdoutViolation({ system, prompt: `Make sure it ${DISGUISED}.` }, pipeline, "write")).toBe(
      'the prompt of phase "write" contains the rubric of write: secret-criterion',
    );
    expect(holdoutViolation({ system: `Always: ${DISGUISED}.`, prompt: "Do it." }, pipeline, "write")).toBe(
      'the system text of phase "write" contains the rubric of write: secret-criterion',
    );
    // Five rubric words end the system text, the sixth starts the prompt.
    const split = { system: "Names the exact function that", prompt: "trims. Do it." };
    expect(holdoutViolation(split, pipeline, "write")).toBe(
      'the prompt of phase "write", as assembled, contains the rubric of write: secret-criterion',
    );
    expect(holdoutViolation({ system, prompt: "Write about trimming." }, pipeline, "write")).toBeUndefined();
  });
});

describe("holdout > a run on a repository that documents its own pipeline", () => {
  it("goes on without the files that quote a rubric or are pipeline files, and its phase comment lists them", async () => {
    const { result, close } = await runInRepo(REPO);
    try {
      expect(result.state?.status).toBe("succeeded");
      expect(result.agents).toHaveLength(1);
      for (const request of result.agents) {
        const sent = `${request.system}\n${request.context ?? ""}\n${request.prompt}`;
        expect(findRubricLeak(sent, result.pipeline)).toBeUndefined();
        expect(sent).not.toContain(DISGUISED);
        expect(sent).not.toContain("atomic:write: judged");
        expect(request.context).toContain('source="file:README.md"');
        expect(request.context).toContain('source="file:docs/usage.md"');
        expect(request.context).not.toContain('source="file:docs/guide.md"');
        expect(request.context).not.toContain('source="file:pipelines/prompts/write.md"');
        expect(request.context).toContain("docs/guide.md (holdout: quotes a rubric)");
        expect(sent).not.toContain("secret-criterion");
      }
      expect(result.readComment()).toContain(
        "Left out of the agent's context (holdout): `.github/atomic-scrum.yml` (repository configuration), `docs/guide.md` (contains the rubric of write: secret-criterion), `pipelines/judged.yml` (pipeline file), `pipelines/prompts/write.md` (prompt file of phase write)",
      );
    } finally {
      close();
    }
  });

  it("still stops, naming the issue body, when the issue quotes a rubric, and sends nothing", async () => {
    const issue = { ...ISSUE, body: `Make sure the text ${DISGUISED}.` };
    const { result, close } = await runInRepo(REPO, issue);
    try {
      expect(result.agents).toEqual([]);
      expect(result.state?.status).toBe("failed");
      expect(result.state?.reason).toBe(
        'holdout violated: the issue body, quoted in the prompt of phase "write", contains the rubric of write: secret-criterion',
      );
    } finally {
      close();
    }
  });

  it("still stops, naming the earlier phase, when an agent's own output quotes a later phase's rubric", async () => {
    const twoPhases = {
      ...REPO,
      "pipelines/judged.yml": PIPELINE.replace(
        "phases:\n",
        `phases:\n  - id: research\n    task: research\n    prompt: "Research {{ issue.title }}"\n    context: []\n    output: { artifact: "notes/{{ issue.number }}/research.md" }\n`,
      ).replace("prompt: prompts/write.md", 'prompt: "Write from {{ phases.research.output }}"'),
    };
    const fixtures: Fixtures = {
      research: [{ agent: `The function ${DISGUISED}.` }],
      write: PASS.write ?? [],
    };
    const { result, close } = await runInRepo(twoPhases, ISSUE, fixtures);
    try {
      expect(
        result.agents.map((request) => request.purpose.kind === "agent" && request.purpose.phaseId),
      ).toEqual(["research"]);
      expect(result.state?.status).toBe("failed");
      expect(result.state?.reason).toBe(
        'holdout violated: the output of phase "research", quoted in the prompt of phase "write", contains the rubric of write: secret-criterion (an agent wrote it, though no prompt of this run showed it a rubric)',
      );
    } finally {
      close();
    }
  });
});

describe("holdout > scenario files", () => {
  const { pipeline } = loadPipeline(PIPELINE.replace("prompts/write.md", JSON.stringify(PROMPT)));

  it("leaves out a pipeline's scenario tests: recorded answers and the judges' grades of them", () => {
    const scenario =
      "name: clean\nissue: { title: x }\ncassettes:\n  write:\n    - agent: A draft.\n      judge:\n        secret-criterion: { score: 0.9, reason: names the function }\nexpect:\n  status: succeeded\n";
    const extended = "name: retry\nextends: clean.yml\nexpect:\n  status: failed\n";
    const read = {
      files: [
        { path: "pipelines/scenarios/judged/clean.yml", content: scenario },
        { path: "pipelines/scenarios/judged/retry.yaml", content: extended },
        { path: "config/expect.yml", content: "expect:\n  ok: true\n" },
      ],
      omitted: [],
    };
    const { context, heldOut } = holdOutContext(read, pipeline);
    expect(heldOut).toEqual([
      { path: "pipelines/scenarios/judged/clean.yml", reason: "holdout: scenario file" },
      { path: "pipelines/scenarios/judged/retry.yaml", reason: "holdout: scenario file" },
    ]);
    expect(context.files.map((file) => file.path)).toEqual(["config/expect.yml"]);
  });
});

describe("holdout > a phrase common in English is not a rubric", () => {
  // Six words of this rubric are a stock phrase ("in a way that a new ..."), and "at the end of
  // the day" is another: a README or an issue using them quotes nothing a judge grades by.
  const COMMON = "Explains the change in a way that a new user can act on, at the end of the day.";
  const { pipeline } = loadPipeline(
    PIPELINE.replace("prompts/write.md", JSON.stringify(PROMPT)).replace(`'${RUBRIC}'`, `'${COMMON}'`),
  );

  it("keeps a file that shares only a stock phrase with a rubric, and leaves out one that quotes it", () => {
    const read = {
      files: [
        {
          path: "README.md",
          content: "# tool\n\nThe docs are written in a way that a new contributor can follow.\n",
        },
        { path: "docs/style.md", content: "At the end of the day, the tests decide.\n" },
        {
          path: "docs/quote.md",
          content: "The judge wants it to explain the change in a way that a new user can act on.\n",
        },
      ],
      omitted: [],
    };
    const { context, heldOut } = holdOutContext(read, pipeline);
    expect(context.files.map((file) => file.path)).toEqual(["README.md", "docs/style.md"]);
    expect(heldOut.map((file) => file.path)).toEqual(["docs/quote.md"]);
  });

  it("does not stop a run whose issue uses the stock phrase", () => {
    const prompt = untrusted("issue.body", "Please word the error in a way that a new user understands.");
    expect(holdoutViolation({ system: "You are the phase.", prompt }, pipeline, "write")).toBeUndefined();
    expect(findRubricLeak("The change, at the end of the day, is small.", pipeline)).toBeUndefined();
  });
});
