import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { type Document, isScalar, type LineCounter } from "yaml";
import {
  checkPipeline,
  type PipelineOutline,
  type TemplateProblem,
  type TemplateSite,
} from "./check-pipeline.js";
import { parseDuration } from "./duration.js";
import { locatePath, toPosition } from "./locate.js";
import { formatPath, type Problem } from "./problem.js";
import { readInputFile } from "./read-input.js";
import { DEFAULT_ARTIFACT, type ResolvedPhase, type ResolvedPipeline } from "./resolved.js";
import {
  AgentPhaseSchema,
  DEFAULT_TIER,
  isAgentPhase,
  isWaitPhase,
  type Phase,
  type Pipeline,
  PipelineSchema,
  phaseSchemaFor,
} from "./schema.js";
import { schemaProblems } from "./schema-problems.js";
import { parseYamlInput } from "./yaml-input.js";

export type LoadResult =
  | { ok: true; pipeline: ResolvedPipeline; hash: string; file: string }
  | { ok: false; problems: Problem[] };

/** A prompt that is one word ending in one of these is a file path, not inline text. */
const PROMPT_FILE = /^[^\s{}]+\.(md|txt|liquid)$/;

/** Reads, validates and resolves a pipeline file. Never throws for a bad pipeline: it reports. */
export function loadPipelineFile(file: string): LoadResult {
  const read = readInputFile(file);
  if (!read.ok) return fail(read.problem);
  return loadPipelineText(read.text, file);
}

/** {@link loadPipelineFile} on text already read (a repository's file, fetched). Never throws. */
export function loadPipelineText(source: string, file: string): LoadResult {
  const input = parseYamlInput(source, file);
  if (!input.ok) return input;
  const { doc, lines } = input;
  // Positions are counted in the text YAML saw: without a byte order mark.
  const text = source.startsWith("\uFEFF") ? source.slice(1) : source;
  const raw: unknown = input.value;
  if (raw === null || raw === undefined) {
    return fail({
      file,
      line: 1,
      col: 1,
      path: "",
      message: "the file is empty: a pipeline needs name: and phases:",
    });
  }
  const locate = (path: PropertyKey[], key?: string): Problem => {
    const { line, col } = locatePath(doc, lines, path, key);
    return { file, line, col, path: formatPath(key ? [...path, key] : path), message: "" };
  };
  const parsed = PipelineSchema.safeParse(raw ?? {});
  const schema = parsed.success
    ? []
    : schemaProblems(parsed.error.issues, raw).map((p) => ({ ...locate(p.path, p.key), message: p.message }));
  // With schema problems, the phases that are valid by themselves are still checked, so the
  // file's problems come all at once (issue 12: a wrong field hid an unknown filter, and back).
  const outline = parsed.success ? parsed.data : outlineOf(raw);
  const { sites, problems: promptProblems } = readPrompts(outline, file, locate);
  const checked = checkPipeline(outline, sites).map((p) =>
    placeTemplateProblem(p, { doc, lines, text, file }),
  );
  const problems = [...schema, ...promptProblems, ...checked];
  if (!parsed.success || problems.length > 0) return { ok: false, problems: dedupe(problems) };
  const pipeline = parsed.data;
  const resolved = resolvePipeline(pipeline, sites, file);
  return { ok: true, pipeline: resolved, hash: hashPipeline(resolved), file };
}

/** The content hash a run is pinned to. */
export function hashPipeline(pipeline: ResolvedPipeline): string {
  return createHash("sha256").update(JSON.stringify(pipeline)).digest("hex");
}

/** The parts of a pipeline that failed its schema which can still be checked: each valid phase. */
function outlineOf(raw: unknown): PipelineOutline {
  const top = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const rawPhases = Array.isArray(top.phases) ? (top.phases as unknown[]) : [];
  const unparsed = new Map<number, { id?: string; agent: boolean }>();
  const phases = rawPhases.map((value, index): Phase | undefined => {
    const schema = phaseSchemaFor(value);
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const id = text((value as { id?: unknown } | null)?.id);
    const agent = schema === AgentPhaseSchema;
    unparsed.set(index, id === undefined ? { agent } : { id, agent });
    // A phase with a wrong field still has its prompt checked, when the prompt itself is text.
    const prompt = text((value as { prompt?: unknown } | null)?.prompt);
    if (!agent || !prompt) return undefined;
    return { id: id ?? `phase-${index}`, task: "code", executor: "llm", prompt, gates: [] };
  });
  const outline: PipelineOutline = { name: text(top.name) ?? "pipeline", phases, unparsed };
  const description = text(top.description);
  const voice = text(top.voice_style);
  if (description !== undefined) outline.description = description;
  if (voice !== undefined) outline.voice_style = voice;
  return outline;
}

function readPrompts(
  pipeline: PipelineOutline,
  file: string,
  locate: (path: PropertyKey[]) => Problem,
): { sites: Map<number, TemplateSite>; problems: Problem[] } {
  const sites = new Map<number, TemplateSite>();
  const problems: Problem[] = [];
  pipeline.phases.forEach((phase, index) => {
    if (!phase || !isAgentPhase(phase)) return;
    const path = ["phases", index, "prompt"];
    if (!PROMPT_FILE.test(phase.prompt.trim())) {
      sites.set(index, { path, text: phase.prompt });
      return;
    }
    const promptFile = resolve(dirname(file), phase.prompt.trim());
    const inside = relative(dirname(resolve(file)), promptFile);
    if (inside.startsWith("..") || isAbsolute(inside)) {
      problems.push({
        ...locate(path),
        message: `prompt file "${phase.prompt.trim()}" must be inside the pipeline's folder`,
      });
      return;
    }
    if (!existsSync(promptFile)) {
      problems.push({
        ...locate(path),
        message: `prompt file "${phase.prompt.trim()}" does not exist (looked for ${promptFile})`,
      });
      return;
    }
    const read = readInputFile(promptFile);
    if (!read.ok) {
      // The problem is where the prompt is named; the reason says what is wrong with the file.
      const reason =
        read.problem.line > 1 || read.problem.col > 1 ? ` at ${read.problem.line}:${read.problem.col}` : "";
      problems.push({
        ...locate(path),
        message: `prompt file "${phase.prompt.trim()}" (${promptFile})${reason}: ${read.problem.message}`,
      });
      return;
    }
    sites.set(index, { path, text: read.text, file: promptFile });
  });
  return { sites, problems };
}

/** A template problem points into the prompt file, or into the YAML scalar holding the template. */
function placeTemplateProblem(
  problem: TemplateProblem,
  source: { doc: Document; lines: LineCounter; text: string; file: string },
): Problem {
  const { doc, lines, text, file } = source;
  const path = formatPath(problem.path);
  if (problem.file) {
    return {
      file: problem.file,
      line: problem.at?.row ?? 1,
      col: problem.at?.col ?? 1,
      path,
      message: problem.message,
    };
  }
  const node = doc.getIn(problem.path, true);
  const start =
    isScalar(node) && node.range ? toPosition(lines, node.range[0]) : locatePath(doc, lines, problem.path);
  if (!problem.at) return { file, ...start, path, message: problem.message };
  const block = isScalar(node) && (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED");
  if (block) {
    const line = start.line + problem.at.row;
    return { file, line, col: indentOf(text, lines, line) + problem.at.col, path, message: problem.message };
  }
  const quoted = isScalar(node) && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") ? 1 : 0;
  const line = start.line + problem.at.row - 1;
  const col = problem.at.row === 1 ? start.col + quoted + problem.at.col - 1 : problem.at.col;
  return { file, line, col, path, message: problem.message };
}

/** Leading spaces on a line of the source: a block scalar's content indentation. */
function indentOf(text: string, lines: LineCounter, line: number): number {
  const start = lines.lineStarts[line - 1];
  if (start === undefined) return 0;
  const content = text.slice(start, lines.lineStarts[line] ?? text.length);
  return content.length - content.trimStart().length;
}

function resolvePipeline(
  pipeline: Pipeline,
  sites: Map<number, TemplateSite>,
  file: string,
): ResolvedPipeline {
  const phases = pipeline.phases.map((phase, index): ResolvedPhase => {
    const name = phase.name ?? phase.id;
    if (isWaitPhase(phase))
      return { kind: "wait", id: phase.id, name, wait: phase.wait, waitMs: parseDuration(phase.wait) };
    if (!isAgentPhase(phase))
      return { kind: "approval", id: phase.id, name, minApprovals: phase.approval.min_approvals };
    const site = sites.get(index);
    const resolved: ResolvedPhase = {
      kind: "agent",
      id: phase.id,
      name,
      task: phase.task,
      tier: phase.tier ?? DEFAULT_TIER[phase.task],
      executor: "llm",
      prompt: site?.text ?? phase.prompt,
      context: phase.context ?? pipeline.defaults?.context ?? [],
      output: phase.output ?? { artifact: DEFAULT_ARTIFACT },
      gates: phase.gates,
      onFail: phase.on_fail ??
        pipeline.defaults?.on_fail ?? { retries: 1, escalate: true, exhausted: "fail", feedback: "critique" },
    };
    if (phase.model !== undefined) resolved.model = phase.model;
    if (site?.file) resolved.promptFile = relative(dirname(file), site.file);
    return resolved;
  });
  const out: ResolvedPipeline = { name: pipeline.name, labels: pipeline.labels, phases };
  if (pipeline.description !== undefined) out.description = pipeline.description;
  if (pipeline.voice_style !== undefined) out.voiceStyle = pipeline.voice_style;
  if (pipeline.budget) {
    out.budget = {};
    if (pipeline.budget.max_cost_usd !== undefined) out.budget.maxCostUsd = pipeline.budget.max_cost_usd;
    if (pipeline.budget.max_tokens !== undefined) out.budget.maxTokens = pipeline.budget.max_tokens;
  }
  return out;
}

function fail(problem: Problem): LoadResult {
  return { ok: false, problems: [problem] };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return sortProblems(problems).filter((p) => {
    const key = `${p.line}:${p.col}:${p.path}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
