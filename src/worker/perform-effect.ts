import type { Database } from "better-sqlite3";
import { redactRubrics } from "../engine/holdout.js";
import { type HeldOut, holdOutContext } from "../engine/holdout-context.js";
import { holdoutViolation } from "../engine/holdout-violation.js";
import { outputText } from "../engine/output-text.js";
import { type ContextInput, renderPath, renderPrompt } from "../engine/template-context.js";
import { phaseAt } from "../engine/transition.js";
import type { AttemptOutput, Effect, RunEvent, Totals, Usage } from "../engine/types.js";
import {
  agentSystemPrompt,
  agentUserPrompt,
  checkArtifact,
  FILE_EDIT_SCHEMA,
  parseFileEdit,
} from "../executors/llm.js";
import { checkEdit } from "../forge/check-commit.js";
import { defaultEditPolicy, type EditPolicy } from "../forge/edit-policy.js";
import { type FileChange, type Forge, ForgeRefusal } from "../forge/forge.js";
import { checkWritablePath } from "../forge/paths.js";
import { evaluateGates } from "../judge/evaluate-gates.js";
import type { JudgeCallTarget } from "../judge/judge-gate.js";
import type { ResolvedAgentPhase } from "../pipeline/resolved.js";
import { TemplateError } from "../pipeline/templates.js";
import {
  estimateTokens,
  type ModelRequest,
  type ModelResponse,
  type Provider,
  ProviderError,
} from "../providers/provider.js";
import { renderPhaseComment } from "../render/phase-comment.js";
import {
  getEffect,
  listAttempts,
  putEffect,
  type RunRecord,
  spentSince,
  upsertAttempt,
} from "../store/runs.js";
import { checkCi } from "./check-ci.js";

export interface PerformDeps {
  db: Database;
  /** Where a run's branch, commits and comments live (a local repository, or GitHub for its installation). */
  forgeFor: (run: RunRecord) => Forge;
  /** The provider a run uses: pinned when the run started, so a resume never switches models. */
  providerFor: (run: RunRecord) => Provider;
  /**
   * The provider that grades a run's work: the gate's `provider` when it names one, else (by
   * default) another model family than the author's. Without it, the run's own provider judges.
   */
  judgeFor?: (run: RunRecord, named?: string) => Provider;
  now: () => number;
  /** Cost of a call in USD; the simulated and recorded providers cost nothing. */
  price: (response: Pick<ModelResponse, "provider" | "model" | "usage">) => number;
  /**
   * Whether calls to a model can be priced. A run with a cost limit refuses a call it cannot price
   * instead of counting it as $0. Without it, every model counts as priced (offline use).
   */
  isPriced?: (provider: string, model: string) => boolean;
  /**
   * Most all runs may spend per UTC day: per GitHub installation for runs that have one, else
   * per database. Checked before every call, like a pipeline's budget.
   */
  dailyMaxCostUsd?: number;
  contextLimits: { maxFiles: number; maxBytes: number };
  /**
   * Lets every run write `.github/workflows/`, whatever its repository says (the servers pass
   * false: a repository opts in with `edits.allow`, which the run pins).
   */
  allowWorkflows: boolean;
}

type Performer<K extends Effect["kind"]> = (
  deps: PerformDeps,
  run: RunRecord,
  effect: Extract<Effect, { kind: K }>,
  signal: AbortSignal,
) => Promise<RunEvent>;

/** One performer per effect kind: a new effect is a compile error until it is handled here. */
const PERFORMERS: { [K in Effect["kind"]]: Performer<K> } = {
  prepare_branch: async (deps, run) => {
    const branch = await deps.forgeFor(run).prepareBranch({ branch: run.branch });
    return { type: "branch.prepared", head: branch.head };
  },
  call_agent: callAgent,
  evaluate_gates: evaluate,
  commit: async (deps, run, effect) => {
    const phase = agentPhase(run);
    const output = currentOutput(run);
    const changes: FileChange[] =
      "files" in phase.output
        ? (output.files ?? [])
        : [{ path: artifactPath(run, phase), content: output.text }];
    const score = run.state.current?.verdict?.results.find((r) => r.details);
    const message = [
      // The headline names the phase and issue, never the issue's title: a title could carry
      // "Closes #7" (closing another issue on merge) or @mentions.
      `${phase.name} for issue #${run.issue.number}`,
      "",
      `Phase: ${phase.id} (${phase.task}) · tier ${output.tier} · model ${output.provider}/${output.model}`,
      `Attempt: ${effect.attempt}${score ? ` · score ${score.score.toFixed(2)} (threshold ${score.details?.threshold})` : ""}`,
      `Run: ${run.id}`,
    ].join("\n");
    const result = await deps.forgeFor(run).commit({
      branch: run.branch,
      message,
      changes,
      key: `${run.id}/${effect.key}`,
      edits: editPolicy(deps, run),
    });
    return { type: "phase.committed", sha: result.sha };
  },
  check_ci: checkCi,
  comment: async (deps, run, effect) => {
    const phase = agentPhase(run);
    const current = run.state.current;
    const attempts = listAttempts(deps.db, run.id).filter((a) => a.phaseId === phase.id);
    const heldOut = getEffect<HeldOut[]>(deps.db, heldOutKey(run.id, phase.id, effect.attempt));
    const input: Parameters<typeof renderPhaseComment>[0] = { phase, attempts, heldOut: heldOut ?? [] };
    if (current?.failure) input.failure = current.failure;
    if (current?.commit) input.commit = current.commit;
    if (current?.output) {
      input.output = outputText(current.output);
      if ("artifact" in phase.output && !current.failure) input.artifactPath = artifactPath(run, phase);
    }
    const name = `${String(run.state.phaseIndex + 1).padStart(2, "0")}-${phase.id}`;
    const body = renderPhaseComment(input);
    const result = await deps
      .forgeFor(run)
      .comment({ runId: run.id, key: `${run.id}/${effect.key}`, name, body });
    return { type: "phase.commented", commentId: result.id };
  },
  schedule_wait: async (deps, _run, effect) => ({
    type: "wait.scheduled",
    until: deps.now() + effect.waitMs,
  }),
  merge_pull: async (deps, run, effect) => {
    const result = await deps.forgeFor(run).mergePull({ sha: effect.sha, method: effect.method });
    if (!result.merged) return { type: "merge.refused", reason: result.reason };
    const by = run.state.approval?.by.join(", ") ?? "a reviewer";
    return { type: "run.merged", by: `Atomic Scrum (${effect.method}, after approval by ${by})` };
  },
  request_approval: requestApproval,
  hand_off: async (deps, run, effect) => {
    await deps.forgeFor(run).addLabel({ runId: run.id, label: effect.label });
    return { type: "handoff.done", label: effect.label };
  },
};

/** Carries out an effect and says what happened, as the event to apply. */
export function performEffect(
  deps: PerformDeps,
  run: RunRecord,
  effect: Effect,
  signal: AbortSignal,
): Promise<RunEvent> {
  const performer = PERFORMERS[effect.kind] as Performer<typeof effect.kind>;
  return performer(deps, run, effect as never, signal);
}

/**
 * Enters the approval phase. Approvals of the head given before it (GitHub: reviews submitted
 * during a cooldown, which the engine could not count then) are read once here and count now.
 * Only a read, so running it again after a crash is harmless.
 */
async function requestApproval(deps: PerformDeps, run: RunRecord): Promise<RunEvent> {
  const forge = deps.forgeFor(run);
  const head = run.state.head;
  if (forge.approvalsOnHead === undefined || head === undefined) return { type: "approval.requested" };
  // A later approval phase (approve, wait for objections, approve again) wants new approvals:
  // reviews already on the pull request were counted by the first one.
  const index = run.state.phaseIndex;
  if (run.pipeline.phases.slice(0, index).some((phase) => phase.kind === "approval"))
    return { type: "approval.requested" };
  const approvedBy = await forge.approvalsOnHead({
    head,
    ...(run.startedBy === undefined ? {} : { startedBy: run.startedBy }),
  });
  return approvedBy.length > 0
    ? { type: "approval.requested", approvedBy, sha: head }
    : { type: "approval.requested" };
}

async function callAgent(
  deps: PerformDeps,
  run: RunRecord,
  effect: Extract<Effect, { kind: "call_agent" }>,
  signal: AbortSignal,
): Promise<RunEvent> {
  const phase = agentPhase(run);
  const provider = deps.providerFor(run);
  // A model pinned by the phase is for the phase's own tier: an escalation moves to the next tier's model.
  const pinned = phase.model !== undefined && effect.tier === phase.tier ? phase.model : undefined;
  const model = pinned ?? provider.modelFor(effect.tier);
  upsertAttempt(
    deps.db,
    { runId: run.id, phaseId: phase.id, attempt: effect.attempt },
    { state: "running", tier: effect.tier, provider: provider.name, model, startedAt: deps.now() },
  );
  const read =
    phase.context.length > 0
      ? await deps
          .forgeFor(run)
          .readContext({ branch: run.branch, globs: phase.context, ...deps.contextLimits })
      : { files: [], omitted: [] };
  // Pipeline files and files quoting a rubric never reach the agent; the phase comment lists them.
  const { context: given, heldOut } = holdOutContext(read, run.pipeline);
  if (heldOut.length > 0)
    putEffect(deps.db, heldOutKey(run.id, phase.id, effect.attempt), run.id, "held_out", heldOut, deps.now());
  let rendered: string;
  try {
    rendered = renderPrompt(phase.prompt, contextInput(run, phase));
  } catch (error) {
    // Rendering is deterministic: the same prompt fails the same way on every attempt, so the
    // phase fails now, with the reason, instead of the job being retried until it dies.
    if (!(error instanceof TemplateError)) throw error;
    return { type: "agent.failed", error: `the prompt does not render: ${error.message}`, fatal: true };
  }
  const system = agentSystemPrompt(phase, run.issue.number, `${run.repo.owner}/${run.repo.name}`);
  // Feedback (a judge quoting its rubric, however disguised; CI output; an earlier answer) has any
  // rubric run cut out, and files quoting one were left out above; what is left to find is a rubric
  // in what cannot be left out (the prompt, the issue, an earlier output), and the run stops
  // (issues 11 and 12), naming where it came from.
  const feedback = run.state.feedback ? redactRubrics(run.state.feedback, run.pipeline) : undefined;
  const { context, prompt } = agentUserPrompt({ rendered, context: given, feedback });
  const violation = holdoutViolation({ system, context, prompt }, run.pipeline, phase.id);
  if (violation) return { type: "run.aborted", reason: `holdout violated: ${violation}` };
  const inputTokens = estimateTokens(system) + estimateTokens(context ?? "") + estimateTokens(prompt);
  const overBudget = budgetCheck(deps, run, { provider: provider.name, model, inputTokens });
  if (overBudget) {
    const { reason, own: spent } = overBudget;
    return {
      type: "agent.failed",
      error: reason,
      fatal: true,
      kind: "budget",
      ...(spent ? { budgetSpent: true } : {}),
    };
  }
  const files = "files" in phase.output;
  const request: ModelRequest = {
    purpose: {
      kind: "agent",
      phaseId: phase.id,
      phaseName: phase.name,
      task: phase.task,
      attempt: effect.attempt,
      output: files ? "files" : "artifact",
      issue: { number: run.issue.number, title: run.issue.title },
    },
    tier: effect.tier,
    ...(pinned ? { model: pinned } : {}),
    system,
    ...(context ? { context } : {}),
    prompt,
    json: files,
    ...(files ? { jsonSchema: FILE_EDIT_SCHEMA } : {}),
    signal,
  };
  let response: ModelResponse | undefined;
  try {
    response = await cachedCall(deps, run, `${effect.key}/response`, () => provider.complete(request));
    const edits = editPolicy(deps, run);
    const edit = files ? parseFileEdit(response.text, edits) : undefined;
    const output: AttemptOutput = {
      text: edit ? edit.summary : checkArtifactEdit(response, artifactPath(run, phase), edits),
      provider: response.provider,
      model: response.model,
      tier: effect.tier,
      usage: response.usage,
      costUsd: priceOfCall(deps, response, { provider: provider.name, model }),
    };
    if (edit) output.files = edit.files;
    return { type: "agent.completed", output };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const failed: RunEvent = {
      type: "agent.failed",
      error: error.message,
      fatal: error.fatal,
      kind: error.kind,
    };
    // An answer that was billed counts toward the run's totals and budgets even when unusable.
    const paid = response ?? error.spent;
    return paid
      ? { ...failed, usage: paid.usage, costUsd: priceOfCall(deps, paid, { provider: provider.name, model }) }
      : failed;
  }
}

/** Where an attempt's held-out context files are kept, for its phase comment to list. */
function heldOutKey(runId: string, phaseId: string, attempt: number): string {
  return `${runId}/${phaseId}/${attempt}/held-out`;
}

/**
 * A model's answer is kept as soon as it arrives, so a worker killed before recording what it
 * made of the answer does not pay for the call again.
 */
async function cachedCall(
  deps: PerformDeps,
  run: RunRecord,
  key: string,
  call: () => Promise<ModelResponse>,
): Promise<ModelResponse> {
  const fullKey = `${run.id}/${key}`;
  const cached = getEffect<ModelResponse>(deps.db, fullKey);
  if (cached) return cached;
  const response = await call();
  putEffect(deps.db, fullKey, run.id, "model_call", response, deps.now());
  return response;
}

/**
 * Says why a call would go over a budget, if it would: the pipeline's tokens and cost (the lower of
 * the pipeline's and the repository's), the repository's daily cost, and the server's daily cost.
 * The call is estimated from its prompt: its answer's cost is known only afterwards, so a run can
 * end at most one answer over a cost limit, never a whole call.
 */
function budgetCheck(
  deps: PerformDeps,
  run: RunRecord,
  call: { provider: string; model: string; inputTokens: number },
  pending: Totals = { tokens: 0, costUsd: 0 },
): BudgetRefusal | undefined {
  const budget = run.pipeline.budget;
  // `pending`: what this effect has spent so far (earlier grades), not yet in the run or the store.
  const spent = {
    tokens: run.state.totals.tokens + pending.tokens,
    costUsd: run.state.totals.costUsd + pending.costUsd,
  };
  const tokens = call.inputTokens;
  if (budget?.maxTokens !== undefined && spent.tokens + tokens > budget.maxTokens) {
    return own(
      `budget: this call needs about ${tokens} tokens and ${spent.tokens} of ${budget.maxTokens} are used; raise budget.max_tokens to go on`,
    );
  }
  const limits = [
    budget?.maxCostUsd === undefined ? undefined : "the pipeline's budget.max_cost_usd",
    budget?.dailyMaxCostUsd === undefined ? undefined : "the repository's budget.daily_max_cost_usd",
    deps.dailyMaxCostUsd === undefined ? undefined : "the server's budget.daily_max_cost_usd",
  ].filter((limit) => limit !== undefined);
  if (limits.length > 0 && deps.isPriced?.(call.provider, call.model) === false) {
    return other(
      `budget: no price for ${call.provider}/${call.model}, so ${limits.join(" and ")} cannot be checked; add it under \`prices:\` in the settings file (a local model: \`${call.model}: { input: 0, output: 0 }\`)`,
    );
  }
  const usage = { inputTokens: tokens, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  const cost = deps.price({ provider: call.provider, model: call.model, usage });
  const usd = (n: number) => `$${n.toFixed(4)}`;
  if (budget?.maxCostUsd !== undefined && spent.costUsd + cost > budget.maxCostUsd) {
    return own(
      `budget: this call costs about ${usd(cost)} and ${usd(spent.costUsd)} of ${usd(budget.maxCostUsd)} are spent; raise budget.max_cost_usd to go on`,
    );
  }
  const dayStart = Math.floor(deps.now() / DAY_MS) * DAY_MS;
  if (budget?.dailyMaxCostUsd !== undefined) {
    const today = spentSince(deps.db, dayStart, { repo: run.repo }) + pending.costUsd;
    if (today + cost > budget.dailyMaxCostUsd) {
      return other(
        `daily budget: runs on ${run.repo.owner}/${run.repo.name} have spent ${usd(today)} of ${usd(budget.dailyMaxCostUsd)} today (UTC) and this call costs about ${usd(cost)}; raise budget.daily_max_cost_usd in .github/atomic-scrum.yml, or wait for tomorrow`,
      );
    }
  }
  if (deps.dailyMaxCostUsd !== undefined) {
    const installationId = run.repo.installationId;
    const today =
      spentSince(deps.db, dayStart, installationId === undefined ? {} : { installationId }) + pending.costUsd;
    if (today + cost > deps.dailyMaxCostUsd) {
      const scope =
        installationId === undefined ? "runs in this database" : `runs of installation ${installationId}`;
      return other(
        `daily budget: ${scope} have spent ${usd(today)} of ${usd(deps.dailyMaxCostUsd)} today (UTC) and this call costs about ${usd(cost)}; raise budget.daily_max_cost_usd in the server settings, or wait for tomorrow`,
      );
    }
  }
  return undefined;
}

/**
 * A budget's refusal of a call. `own`: the run's own budget (the pipeline's, pinned to the run)
 * refused it, so it stays refused and a retry of the run is refused too (issue 11); a daily budget
 * resets and a missing price can be added, so those runs can be retried.
 */
interface BudgetRefusal {
  reason: string;
  own: boolean;
}
const own = (reason: string): BudgetRefusal => ({ reason, own: true });
const other = (reason: string): BudgetRefusal => ({ reason, own: false });

const DAY_MS = 86_400_000;

async function evaluate(
  deps: PerformDeps,
  run: RunRecord,
  effect: Extract<Effect, { kind: "evaluate_gates" }>,
  signal: AbortSignal,
): Promise<RunEvent> {
  const phase = agentPhase(run);
  const output = currentOutput(run);
  const usage: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  let costUsd = 0;
  // Rubrics may quote the issue or the work: those values arrive wrapped, like in agent prompts.
  const rubricInput = {
    ...contextInput(run, phase),
    outputs: { ...run.state.outputs, [phase.id]: output.text },
  };
  const previous = output.files ? await previousContents(deps, run, output.files) : undefined;
  const subject = {
    text: output.text,
    ...(output.files ? { files: output.files } : {}),
    ...(previous ? { previous } : {}),
    phaseId: phase.id,
    attempt: effect.attempt,
  };
  const count = (paid: Paid, asked: Asked) => {
    usage.inputTokens += paid.usage.inputTokens;
    usage.outputTokens += paid.usage.outputTokens;
    usage.cacheReadTokens += paid.usage.cacheReadTokens;
    usage.cacheWriteTokens += paid.usage.cacheWriteTokens;
    costUsd += priceOfCall(deps, paid, asked);
  };
  // A judge that stays unavailable (an outage, after the adapter's retries) is not a verdict on
  // the work: the evaluation is retried later as a job, reusing the grades already made.
  let unavailable: ProviderError | undefined;
  const judgeRound =
    (round: string) => async (request: Omit<ModelRequest, "tier">, target: JudgeCallTarget) => {
      const sample = target.sample > 0 ? `/sample-${target.sample}` : "";
      const key = `${effect.key}/gate-${target.gate}/criterion-${target.criterion}${sample}${round}`;
      const provider = deps.judgeFor ? deps.judgeFor(run, target.provider) : deps.providerFor(run);
      const asked = { provider: provider.name, model: target.model ?? provider.modelFor(target.tier) };
      const over = budgetCheck(
        deps,
        run,
        { ...asked, inputTokens: estimateTokens(request.system) + estimateTokens(request.prompt) },
        { tokens: totalTokens(usage), costUsd },
      );
      if (over) throw new ProviderError(over.reason, "budget");
      const response = await cachedCall(deps, run, key, () =>
        provider.complete({
          ...request,
          tier: target.tier,
          ...(target.model ? { model: target.model } : {}),
          signal,
        }),
      ).catch((error: unknown) => {
        // A billed but unusable grade is a grader error; its cost still counts.
        if (error instanceof ProviderError && error.spent) count(error.spent, asked);
        if (error instanceof ProviderError && error.kind === "unavailable") unavailable ??= error;
        throw error;
      });
      // Cached or not, the grade's cost belongs to this evaluation, which is recorded once.
      count(response, asked);
      return response;
    };
  const context = { subject, renderRubric: (rubric: string) => renderPrompt(rubric, rubricInput) };
  let verdict = await evaluateGates(phase.gates, { ...context, judge: judgeRound("") });
  if (unavailable) throw judgeUnavailable(unavailable);
  // A grader error is retried once with fresh calls; a second one fails the phase as "could not be judged".
  if (verdict.results.some((r) => r.error))
    verdict = await evaluateGates(phase.gates, { ...context, judge: judgeRound("/retry") });
  if (unavailable) throw judgeUnavailable(unavailable);
  return { type: "gates.evaluated", verdict, usage, costUsd };
}

function judgeUnavailable(error: ProviderError): Error {
  return new Error(`the judge is unavailable, the evaluation will be tried again: ${error.message}`, {
    cause: error,
  });
}

type Paid = Pick<ModelResponse, "provider" | "model" | "usage">;
type Asked = { provider: string; model: string };

/**
 * What a call cost. An API may answer with a model id the table does not know (a dated snapshot
 * of the model asked for): the call is then priced as the model asked for, not as $0.
 */
function priceOfCall(deps: PerformDeps, paid: Paid, asked: Asked): number {
  const unknown = deps.isPriced?.(paid.provider, paid.model) === false;
  if (unknown && paid.provider === asked.provider && deps.isPriced?.(asked.provider, asked.model)) {
    return deps.price({ ...paid, model: asked.model });
  }
  return deps.price(paid);
}

/** What the changed files held before the phase, read off the branch head. */
async function previousContents(
  deps: PerformDeps,
  run: RunRecord,
  files: FileChange[],
): Promise<Record<string, string>> {
  // Exact paths as globs: glob characters in a path are escaped so they match only themselves.
  const globs = files.map((file) => file.path.replace(/[\\*?[\]{}()!+@]/g, "\\$&"));
  const read = await deps.forgeFor(run).readContext({
    branch: run.branch,
    globs,
    maxFiles: files.length,
    maxBytes: 2_000_000,
  });
  return Object.fromEntries(read.files.map((file) => [file.path, file.content]));
}

/** Tokens as run totals count them: input and output (cache reads and writes are priced, not counted). */
function totalTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens;
}

function contextInput(run: RunRecord, phase: ResolvedAgentPhase): ContextInput {
  return {
    issue: run.issue,
    repo: run.repo,
    pipeline: run.pipeline,
    outputs: run.state.outputs,
    phase: { id: phase.id, name: phase.name },
  };
}

function artifactPath(run: RunRecord, phase: ResolvedAgentPhase): string {
  if (!("artifact" in phase.output)) throw new Error(`phase "${phase.id}" writes files, not an artifact`);
  let rendered: string;
  try {
    rendered = renderPath(phase.output.artifact, contextInput(run, phase));
  } catch (error) {
    // A refusal ends the run with the reason (performSafely): no retry renders it differently.
    if (error instanceof TemplateError)
      throw new ForgeRefusal(`the artifact path does not render: ${error.message}`);
    throw error;
  }
  return checkWritablePath(rendered.trim());
}

/** The run's pinned `edits:` (the defaults if it pinned none), widened by the server's `allowWorkflows`. */
function editPolicy(deps: PerformDeps, run: RunRecord): EditPolicy {
  const policy = run.pipeline.edits ?? defaultEditPolicy();
  if (!deps.allowWorkflows || policy.allow.includes("workflows")) return policy;
  return { ...policy, allow: [...policy.allow, "workflows"] };
}

/**
 * A document answer, checked against the caps its commit will meet, so one over them fails the
 * attempt (and can be retried) instead of the commit.
 */
function checkArtifactEdit(response: ModelResponse, path: string, edits: EditPolicy): string {
  const text = checkArtifact(response);
  try {
    checkEdit([{ path, content: text }], edits);
  } catch (error) {
    if (!(error instanceof ForgeRefusal)) throw error;
    throw new ProviderError(`refused document: ${error.message}`, "bad-output");
  }
  return text;
}

function agentPhase(run: RunRecord): ResolvedAgentPhase {
  const phase = phaseAt(run.pipeline, run.state);
  if (phase.kind !== "agent") throw new Error(`phase "${phase.id}" is not an agent phase`);
  return phase;
}

function currentOutput(run: RunRecord): AttemptOutput {
  const output = run.state.current?.output;
  if (!output) throw new Error(`run ${run.id} has no output for its current attempt`);
  return output;
}
