import type { IssueInput } from "../../src/engine/template-context.js";
import type { Effect } from "../../src/engine/types.js";
import { createLocalApp, type LocalApp, type LocalAppOptions } from "../../src/local/local-app.js";
import { startRun } from "../../src/local/run-commands.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import type { ModelRequest, Provider } from "../../src/providers/provider.js";
import { createRecordedProvider, type Fixtures } from "../../src/providers/recorded.js";
import { tempFile } from "./temp.js";

export const SMALL_PIPELINE = `
name: small
phases:
  - id: research
    task: research
    prompt: "Study the issue: {{ issue.title }} {{ issue.body }}"
    output: { artifact: "notes/{{ issue.number }}/research.md" }
    gates:
      - judge:
          threshold: 0.6
          criteria:
            - { name: grounded, weight: 2, rubric: "Every claim is traceable to the issue text." }
            - { name: complete, weight: 1, rubric: "Covers each thing the issue asks for." }
  - id: implement
    task: code
    prompt: "Implement it. Research: {{ phases.research.output }}"
    output: { files: true }
    gates:
      - assert: { type: paths, value: ["src/**", "test/**"] }
  - id: human-review
    approval: {}
`;

export const ISSUE: IssueInput = {
  number: 7,
  title: "Trim the input",
  body: "Inputs arrive with stray spaces.",
  labels: [],
  author: "alice",
  url: "",
};

/** Counts the calls a provider receives, by purpose kind. */
export function counting(provider: Provider): Provider & { calls: { agent: number; judge: number } } {
  const calls = { agent: 0, judge: 0 };
  return {
    name: provider.name,
    modelFor: (tier) => provider.modelFor(tier),
    calls,
    complete: (request) => {
      calls[request.purpose.kind]++;
      return provider.complete(request);
    },
  };
}

/** The recorded provider replaying `fixtures`, keeping every request so a test can read the prompts sent. */
export function recording(fixtures: Fixtures): Provider & { requests: ModelRequest[] } {
  const inner = createRecordedProvider(fixtures);
  const requests: ModelRequest[] = [];
  const complete = (request: ModelRequest) => {
    requests.push(request);
    return inner.complete(request);
  };
  return { ...inner, requests, complete };
}

export function loadPipeline(text = SMALL_PIPELINE) {
  const file = tempFile("pipeline.yml", text);
  const loaded = loadPipelineFile(file);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join("\n"));
  return { ...loaded, file };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 10, 23, 12)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** A local app on the repository's default state folder, with one provider for every run. */
export function openApp(
  repo: string,
  options: Partial<Omit<LocalAppOptions, "providerFor">> & { provider: Provider },
): LocalApp {
  const { provider, ...rest } = options;
  return createLocalApp({ repoDir: repo, leaseMs: 30_000, providerFor: () => provider, ...rest });
}

export function start(app: LocalApp, pipelineText = SMALL_PIPELINE, issue = ISSUE) {
  const { pipeline, hash, file } = loadPipeline(pipelineText);
  return startRun(app, { pipeline, hash, pipelinePath: file, issue });
}

export type CrashPoint = { kind: Effect["kind"]; when: "beforeRecord" | "afterRecord" };
