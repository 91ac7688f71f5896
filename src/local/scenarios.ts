import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import type { IssueInput } from "../engine/template-context.js";
import type { GateResult, RunStatus } from "../engine/types.js";
import { ForgeRefusal } from "../forge/forge.js";
import { checkWritablePath } from "../forge/paths.js";
import { locatePath } from "../pipeline/locate.js";
import { parseYamlConfig } from "../pipeline/parse-config.js";
import { formatPath, type Problem } from "../pipeline/problem.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../pipeline/resolved.js";
import { TIERS, type Tier } from "../pipeline/schema.js";
import { suggest } from "../pipeline/template-variables.js";
import type { Provider } from "../providers/provider.js";
import { createRecordedProvider, FixtureFileSchema, type Fixtures } from "../providers/recorded.js";
import type { RunRecord } from "../store/runs.js";
import type { Progress } from "../worker/worker.js";
import { createLocalApp, type LocalApp } from "./local-app.js";
import { approveRun, requireRun, startRun } from "./run-commands.js";

/** What one attempt ended as: its gates passed, a gate failed, or it could not be graded or run. */
const OUTCOMES = ["pass", "fail", "error"] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** A gate that never ran (a judge after a failed assert) is `skipped`. */
const GATE_OUTCOMES = ["pass", "fail", "skipped"] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];
/** Where a scenario's run can end: cooldowns pass in simulated time, so never `waiting`. */
const FINAL_STATUSES = ["succeeded", "failed", "awaiting_approval", "needs_human"] as const;

const IssueSchema = z.strictObject({
  number: z.number().int("must be a whole number").positive("must be 1 or more").default(1),
  title: z.string().trim().min(1, "the issue needs a title"),
  body: z.string().default(""),
  labels: z.array(z.string()).default([]),
  author: z.string().default("scenario-author"),
  url: z.string().default(""),
});

export type AttemptExpectation = Outcome | Record<string, GateOutcome>;

function isAttemptExpectation(value: unknown): value is AttemptExpectation {
  if (typeof value === "string") return (OUTCOMES as readonly string[]).includes(value);
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  return Object.values(value).every((v) => (GATE_OUTCOMES as readonly string[]).includes(v as string));
}

const PhaseExpectSchema = z.strictObject({
  attempts: z.number().int().min(0).optional().describe("How many attempts the phase made."),
  tiers: z.array(z.enum(TIERS)).optional().describe("The tier of each attempt, in order."),
  gates: z
    .array(
      z.custom<AttemptExpectation>(isAttemptExpectation, {
        error:
          'expected pass, fail or error, or a mapping of gate to pass | fail | skipped such as { "assert paths": fail, judge: skipped }',
      }),
    )
    .optional()
    .describe("Per attempt: its outcome, or the outcome of named gates."),
  escalated: z.boolean().optional().describe("Whether the phase moved up a tier after spending its retries."),
});

const ScenarioFileSchema = z.strictObject({
  name: z.string().trim().min(1).optional().describe("Shown in the report; defaults to the file name."),
  description: z.string().optional(),
  extends: z
    .string()
    .min(1)
    .optional()
    .describe(
      "A scenario file (relative to this one) whose issue, files, approve and cassettes are the base.",
    ),
  issue: IssueSchema.optional(),
  files: z
    .record(z.string(), z.string())
    .superRefine((files, ctx) => {
      for (const path of Object.keys(files)) {
        try {
          // The starting repository is the author's, not a model's: workflows are allowed here.
          checkWritablePath(path, { allowWorkflows: true });
        } catch (error) {
          if (!(error instanceof ForgeRefusal)) throw error;
          ctx.addIssue({ code: "custom", message: error.message, path: [path] });
        }
      }
    })
    .optional()
    .describe("The repository the run starts from: path -> content."),
  approve: z
    .custom<boolean | string[]>(
      (value) =>
        typeof value === "boolean" ||
        (Array.isArray(value) &&
          value.length > 0 &&
          new Set(value).size === value.length &&
          value.every((v) => typeof v === "string" && v !== "")),
      { error: "expected true, false, or a list of different reviewer names such as [alice, bob]" },
    )
    .optional()
    .describe("Approve each human review the run reaches: true, or who approves."),
  cassettes: FixtureFileSchema.optional().describe("Recorded answers: phase id -> attempts."),
  expect: z.strictObject({
    status: z.enum(FINAL_STATUSES),
    reason: z.string().min(1).optional().describe("Text the run's final reason must contain."),
    phases: z.record(z.string(), PhaseExpectSchema).default({}),
  }),
});
type ScenarioFile = z.output<typeof ScenarioFileSchema>;
export type PhaseExpectation = z.output<typeof PhaseExpectSchema>;

/** A scenario with its `extends` chain applied. */
export interface Scenario {
  file: string;
  name: string;
  issue: IssueInput;
  files: Record<string, string>;
  approve: boolean | string[];
  cassettes: Fixtures;
  expect: ScenarioFile["expect"];
}

export type ScenarioLoad = { ok: true; scenario: Scenario } | { ok: false; problems: Problem[] };

const DEFAULT_FILES = { "README.md": "# sample\n\nA small project for a scenario test.\n" };

/** A path for people: relative to the working directory when it lies inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** Where a pipeline's scenarios live unless `--scenarios` says otherwise. */
export function defaultScenarioDir(pipelineFile: string, pipelineName: string): string {
  return join(dirname(resolve(pipelineFile)), "scenarios", pipelineName);
}

/** The scenario files of a folder (`*.yml`, `*.yaml`), by name; none if the folder is missing. */
export function listScenarioFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
    .map((entry) => join(dir, entry.name))
    .sort();
}

/** One file of an `extends` chain, parsed, with a way to point at its lines. */
interface Layer {
  file: string;
  value: ScenarioFile;
  at: (path: PropertyKey[], message: string, key?: string) => Problem;
}

type Layers = { ok: true; layers: Layer[] } | { ok: false; problems: Problem[] };

/**
 * Reads a scenario file and the files it extends, and checks it against the pipeline: phase ids,
 * criterion names and gate names that do not exist are reported where they are written. Never
 * throws for a bad file.
 */
export function loadScenario(file: string, pipeline: ResolvedPipeline): ScenarioLoad {
  const read = readLayers(resolve(file), []);
  if (!read.ok) return read;
  const layers = read.layers;
  const own = layers.at(-1) as Layer;
  const problems = layers.flatMap((layer) => cassetteProblems(layer, pipeline));
  problems.push(...expectProblems(own, pipeline));
  const issue = [...layers].reverse().find((layer) => layer.value.issue)?.value.issue;
  if (!issue) problems.push(own.at([], 'missing required field "issue" (here or in the file it extends)'));
  if (problems.length > 0 || !issue) return { ok: false, problems };
  const last = <K extends keyof ScenarioFile>(key: K) =>
    [...layers].reverse().find((layer) => layer.value[key] !== undefined)?.value[key];
  const cassettes: Fixtures = {};
  for (const layer of layers) Object.assign(cassettes, layer.value.cassettes ?? {});
  return {
    ok: true,
    scenario: {
      file: own.file,
      name: own.value.name ?? basename(own.file, extname(own.file)),
      issue,
      files: last("files") ?? DEFAULT_FILES,
      approve: last("approve") ?? false,
      cassettes,
      expect: own.value.expect,
    },
  };
}

function readLayers(file: string, seen: string[]): Layers {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const message = `cannot read: ${(error as Error).message}`;
    return { ok: false, problems: [{ file: shown, line: 1, col: 1, path: "", message }] };
  }
  const parsed = parseYamlConfig(text, ScenarioFileSchema, shown);
  if (!parsed.ok) return parsed;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const at = (path: PropertyKey[], message: string, key?: string): Problem => ({
    file: shown,
    ...locatePath(doc, lines, path, key),
    path: formatPath(key ? [...path, key] : path),
    message,
  });
  const layer: Layer = { file, value: parsed.value, at };
  if (!parsed.value.extends) return { ok: true, layers: [layer] };
  const base = resolve(dirname(file), parsed.value.extends);
  const chain = [...seen, file];
  if (chain.includes(base)) {
    const cycle = [...chain, base].map((f) => basename(f)).join(" -> ");
    return { ok: false, problems: [at(["extends"], `the extends chain loops: ${cycle}`)] };
  }
  if (!existsSync(base)) {
    return { ok: false, problems: [at(["extends"], `no scenario file at ${displayPath(base)}`)] };
  }
  const inner = readLayers(base, chain);
  return inner.ok ? { ok: true, layers: [...inner.layers, layer] } : inner;
}

function agentPhases(pipeline: ResolvedPipeline): ResolvedAgentPhase[] {
  return pipeline.phases.filter((phase): phase is ResolvedAgentPhase => phase.kind === "agent");
}

/** The phase a scenario names, or the problem with the name. */
function agentPhase(
  pipeline: ResolvedPipeline,
  id: string,
  problem: (message: string) => Problem,
): ResolvedAgentPhase | Problem {
  const phase = pipeline.phases.find((candidate) => candidate.id === id);
  if (phase?.kind === "agent") return phase;
  if (phase) {
    const kind = phase.kind === "wait" ? "a wait" : "an approval";
    return problem(`"${id}" is ${kind} phase: only agent phases call models and make attempts`);
  }
  const ids = agentPhases(pipeline).map((p) => p.id);
  return problem(`pipeline "${pipeline.name}" has no phase "${id}"${suggest(id, ids)}`);
}

function cassetteProblems(layer: Layer, pipeline: ResolvedPipeline): Problem[] {
  const problems: Problem[] = [];
  for (const [id, attempts] of Object.entries(layer.value.cassettes ?? {})) {
    const phase = agentPhase(pipeline, id, (message) => layer.at(["cassettes"], message, id));
    if ("message" in phase) {
      problems.push(phase);
      continue;
    }
    const criteria = phase.gates.flatMap((gate) =>
      "judge" in gate ? gate.judge.criteria.map((c) => c.name) : [],
    );
    for (const [index, attempt] of attempts.entries()) {
      for (const name of Object.keys(attempt.judge ?? {})) {
        if (criteria.includes(name)) continue;
        const known = criteria.length
          ? `its criteria are: ${criteria.map((c) => `"${c}"`).join(", ")}`
          : "it has no judge";
        const message = `phase "${id}" has no judge criterion "${name}"${suggest(name, criteria)}; ${known}`;
        problems.push(layer.at(["cassettes", id, index, "judge"], message, name));
      }
    }
  }
  return problems;
}

function expectProblems(layer: Layer, pipeline: ResolvedPipeline): Problem[] {
  const problems: Problem[] = [];
  for (const [id, want] of Object.entries(layer.value.expect.phases)) {
    const phase = agentPhase(pipeline, id, (message) => layer.at(["expect", "phases"], message, id));
    if ("message" in phase) {
      problems.push(phase);
      continue;
    }
    const at = (path: PropertyKey[], message: string, key?: string) =>
      layer.at(["expect", "phases", id, ...path], message, key);
    const { attempts, tiers, gates } = want;
    if (attempts !== undefined && tiers && tiers.length !== attempts) {
      problems.push(at(["tiers"], `lists ${tiers.length} tier(s) but attempts is ${attempts}`));
    }
    if (attempts !== undefined && gates && gates.length > attempts) {
      problems.push(at(["gates"], `lists ${gates.length} attempts but attempts is ${attempts}`));
    }
    const labels = gateLabels(phase);
    for (const [index, expected] of (gates ?? []).entries()) {
      if (typeof expected === "string") continue;
      for (const name of Object.keys(expected)) {
        if (labels.includes(name)) continue;
        const known = labels.length ? labels.map((l) => `"${l}"`).join(", ") : "none";
        const message = `phase "${id}" has no gate "${name}"${suggest(name, labels)}; its gates are: ${known}`;
        problems.push(at(["gates", index], message, name));
      }
    }
  }
  return problems;
}

/** Gate names as verdicts report them (`assert paths`, `judge`), numbered when one repeats (`judge #2`). */
export function gateLabels(phase: ResolvedAgentPhase): string[] {
  const asserts = phase.gates.flatMap((gate) => ("assert" in gate ? [`assert ${gate.assert.type}`] : []));
  const judges = phase.gates.flatMap((gate) => ("judge" in gate ? ["judge"] : []));
  return numbered([...asserts, ...judges]);
}

function numbered(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((label) => {
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return n === 1 ? label : `${label} #${n}`;
  });
}

/** What one attempt did, as the worker reported it. */
export interface ObservedAttempt {
  attempt: number;
  tier?: Tier;
  outcome: Outcome | "running";
  gates: { label: string; pass: boolean }[];
  /** Why it did not pass: the first failing gate's reason, or the call's error. */
  why?: string;
}

/** What a scenario's run did. */
export interface Observation {
  status: RunStatus;
  reason?: string;
  /** Attempts per agent phase, in the order the phases ran. */
  phases: Map<string, ObservedAttempt[]>;
  escalated: Set<string>;
  /** Recorded answers no call asked for, in phases that ran. */
  unused: string[];
  ms: number;
}

/** The target of a scenario: a loaded pipeline, pinned as a run would pin it. */
export interface PipelineTarget {
  pipeline: ResolvedPipeline;
  hash: string;
  file: string;
}

/** More rounds than any pipeline needs; a run still moving after them is stuck in a loop. */
const MAX_ROUNDS = 1000;
/** Simulated time starts here, so every run of a scenario sees the same clock. */
const EPOCH = Date.UTC(2026, 0, 5, 9);

/**
 * Runs one scenario offline: a fresh git repository and database in a temp folder (removed
 * afterwards), the recorded provider replaying the cassettes, and a simulated clock that jumps to
 * the next due job, so cooldowns and backoffs take no real time.
 */
export async function runScenario(scenario: Scenario, target: PipelineTarget): Promise<Observation> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "atomic-scrum-scenario-"));
  try {
    const repo = createRepository(join(dir, "repo"), scenario.files);
    const clock = { now: EPOCH };
    const recorder = recordingProvider(scenario.cassettes, displayPath(scenario.file));
    const observer = createObserver();
    const app = createLocalApp({
      repoDir: repo,
      providerFor: () => recorder.provider,
      now: () => clock.now,
      onProgress: observer.onProgress,
      owner: "atomic-scrum-test",
    });
    try {
      const run = startRun(app, {
        pipeline: target.pipeline,
        hash: target.hash,
        pipelinePath: target.file,
        issue: scenario.issue,
        provider: { name: "recorded", fixtures: scenario.file },
      });
      const final = await drive(app, run.id, clock, scenario.approve);
      const phases = observer.phases;
      return {
        status: final.state.status,
        ...(final.state.reason ? { reason: final.state.reason } : {}),
        phases,
        escalated: new Set(
          Object.entries(final.state.tierChanges ?? {})
            .filter(([, changes]) => changes.some((change) => change.cause === "escalation"))
            .map(([id]) => id),
        ),
        unused: recorder.unused(scenario.cassettes, phases),
        ms: performance.now() - started,
      };
    } finally {
      app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Works the run until it ends or waits for a person, approving reviews the scenario approves. */
async function drive(
  app: LocalApp,
  runId: string,
  clock: { now: number },
  approve: Scenario["approve"],
): Promise<RunRecord> {
  const approved = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { nextRunAt } = await app.worker.runUntilIdle({ group: runId });
    const run = requireRun(app, runId);
    const { status, phaseIndex } = run.state;
    if (status === "awaiting_approval" && approve !== false && !approved.has(phaseIndex)) {
      approved.add(phaseIndex);
      for (const by of reviewers(run, approve)) approveRun(app, requireRun(app, runId), by);
      continue;
    }
    if ((status === "running" || status === "waiting") && nextRunAt !== undefined) {
      clock.now = Math.max(clock.now, nextRunAt);
      continue;
    }
    return run;
  }
  throw new Error(`the run was still moving after ${MAX_ROUNDS} rounds of work`);
}

/** `approve: true` sends as many reviewers as the phase needs; a list sends exactly those. */
function reviewers(run: RunRecord, approve: true | string[]): string[] {
  if (approve !== true) return approve;
  const phase = run.pipeline.phases[run.state.phaseIndex];
  const needed = phase?.kind === "approval" ? phase.minApprovals : 1;
  return Array.from({ length: needed }, (_, i) => (i === 0 ? "reviewer" : `reviewer-${i + 1}`));
}

function createRepository(repo: string, files: Record<string, string>): string {
  mkdirSync(repo, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  // A scenario may run inside a git hook, whose GIT_DIR would point git at the outer repository.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("GIT_")));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, env, stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git(
    "-c",
    "user.name=Scenario",
    "-c",
    "user.email=scenario@example.invalid",
    "commit",
    "-q",
    "--allow-empty",
    "-m",
    "start",
  );
  return repo;
}

/** The recorded provider, noting which answers were asked for. */
function recordingProvider(cassettes: Fixtures, source: string) {
  const inner = createRecordedProvider(cassettes, source);
  const asked = new Set<string>();
  const provider: Provider = {
    name: inner.name,
    modelFor: (tier) => inner.modelFor(tier),
    complete: (request) => {
      const { purpose } = request;
      const what = purpose.kind === "agent" ? "agent" : `judge:${purpose.criterion}`;
      asked.add(`${purpose.phaseId}/${purpose.attempt}/${what}`);
      return inner.complete(request);
    },
  };
  /** Answers recorded for a phase that ran but never asked for: the cassette tells another story. */
  const unused = (all: Fixtures, ran: Map<string, ObservedAttempt[]>): string[] => {
    const lines: string[] = [];
    for (const [id, attempts] of Object.entries(all)) {
      const made = ran.get(id)?.length ?? 0;
      if (made === 0) continue;
      if (attempts.length > made) {
        lines.push(
          `cassettes: ${id} has ${attempts.length} recorded attempts, the run made ${made}: attempt ${made + 1} was never replayed`,
        );
      }
      for (const [index, attempt] of attempts.slice(0, made).entries()) {
        const n = index + 1;
        const names = Object.keys(attempt.judge ?? {}).filter(
          (name) => !asked.has(`${id}/${n}/judge:${name}`),
        );
        if (names.length > 0) {
          const list = names.map((name) => `"${name}"`).join(", ");
          lines.push(`cassettes: ${id} attempt ${n}: the judge was never asked about ${list}`);
        }
      }
    }
    return lines;
  };
  return { provider, unused };
}

/** Collects each attempt from the worker's progress reports. */
function createObserver() {
  const phases = new Map<string, ObservedAttempt[]>();
  const onProgress = ({ event, run }: Progress) => {
    const phaseId = run.pipeline.phases[run.state.phaseIndex]?.id;
    if (!phaseId) return;
    const attempts = phases.get(phaseId) ?? [];
    phases.set(phaseId, attempts);
    const { attempt, tier } = run.state;
    if (event.type === "agent.completed") {
      attempts.push({ attempt, tier: event.output.tier, outcome: "running", gates: [] });
    } else if (event.type === "agent.failed") {
      attempts.push({ attempt, ...(tier ? { tier } : {}), outcome: "error", gates: [], why: event.error });
    } else if (event.type === "gates.evaluated") {
      const current = attempts.at(-1);
      if (current) Object.assign(current, verdictOf(event.verdict.results));
    }
    if (attempts.length === 0) phases.delete(phaseId);
  };
  return { phases, onProgress };
}

function verdictOf(results: GateResult[]): Pick<ObservedAttempt, "outcome" | "gates" | "why"> {
  const labels = numbered(results.map((result) => result.gate));
  const gates = results.map((result, i) => ({ label: labels[i] ?? result.gate, pass: result.pass }));
  const failed = results.findIndex((result) => !result.pass);
  const outcome: Outcome = results.some((r) => r.error) ? "error" : failed < 0 ? "pass" : "fail";
  const first = results[failed];
  const why = first ? `${labels[failed]}: ${first.reasons.join("; ")}` : undefined;
  return { outcome, gates, ...(why ? { why } : {}) };
}
