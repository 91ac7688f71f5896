import type { Gap } from "../../pipeline/gaps.js";
import { type Task, TIERS } from "../../pipeline/schema.js";
import { formatCost, formatTokens } from "../../render/format.js";
import { columnWidths, padRow, textTable } from "../../render/text-table.js";
import type { Io } from "../commands.js";
import {
  ARTIFACT_TOKENS,
  DEFAULT_FAILURE,
  FEEDBACK_TOKENS,
  FILES_TOKENS,
  JUDGE_ANSWER_TOKENS,
  PRIOR_ATTEMPTS,
  SEED,
  SIMULATED_RUNS,
} from "./assumptions.js";
import type { AgentPlan, DryRunReport, RateRow } from "./report.js";

// Printing: the four sections of docs/dry-run.md, whose example a test compares byte for byte.

/** Prints the report; 1 when the real run would stop on a problem found while rendering, else 0. */
export function printDryRun(report: DryRunReport, io: Io): number {
  const { pipeline, issue } = report;
  io.out(
    `atomic-scrum · ${pipeline.name} · dry run on issue #${issue.number} "${issue.title}" · no model is called, no run is created`,
  );
  io.out("");
  if (report.setup.length > 0) {
    io.out(`Setup: ${report.setup.length} problem(s) would refuse this run before it is created:`);
    for (const problem of report.setup) io.out(`  - ${problem}`);
    io.out("");
  }
  printPrompts(report, io);
  io.out("");
  printGaps(report.gaps, io);
  io.out("");
  printForecast(report, io);
  io.out("");
  printAssumptions(report, io);
  if (report.setup.length > 0)
    io.err(`dry run: ${report.setup.length} setup problem(s) would refuse this run; see "Setup" above`);
  if (report.problems.length > 0)
    io.err(`dry run: ${report.problems.length} problem(s) would stop this run; see "Prompts" above`);
  return report.problems.length > 0 || report.setup.length > 0 ? 1 : 0;
}

function printPrompts(report: DryRunReport, io: Io): void {
  io.out(`Prompts, rendered against the issue and the files of ${report.source}:`);
  const rows = [["PHASE", "TIER", "SYSTEM", "CONTEXT", "PROMPT", "OUTPUT (assumed)", "JUDGE CALLS"]];
  const notes = new Map<string, string[]>();
  const heldOut: string[] = [];
  for (const phase of report.phases) {
    if (phase.kind === "wait") rows.push([phase.id, `wait ${phase.wait}`, "", "", "", "", ""]);
    else if (phase.kind === "approval")
      rows.push([phase.id, `approval (${phase.minApprovals})`, "", "", "", "", ""]);
    else {
      const { files: taken, omitted } = phase.context;
      const files =
        taken + omitted === 0 ? "" : ` (${taken} file(s)${omitted ? `, ${omitted} left out` : ""})`;
      rows.push([
        phase.id,
        tierText(phase),
        formatTokens(phase.tokens.system),
        `${formatTokens(phase.tokens.context)}${files}`,
        formatTokens(phase.tokens.prompt),
        formatTokens(phase.tokens.output),
        phase.judges
          .map((judge) => `${judge.calls} on ${judge.tier}${judge.on ? ` (${judge.on})` : ""}`)
          .join(", ") || "none",
      ]);
      if (phase.context.note)
        notes.set(phase.context.note, [...(notes.get(phase.context.note) ?? []), phase.id]);
      if (phase.context.heldOut.length > 0) heldOut.push(heldOutLine(phase));
    }
  }
  printTable(rows, io);
  for (const [note, ids] of notes) io.out(`  ${ids.join(", ")}: ${note}`);
  for (const line of heldOut) io.out(line);
  if (report.problems.length === 0) {
    io.out("  every prompt, artifact path and rubric renders; no rubric shows through a prompt");
    return;
  }
  for (const problem of report.problems) io.out(`  problem: ${problem}`);
}

/** The files a phase's agent is not given (holdout), as the phase comment will list them. */
function heldOutLine(phase: AgentPlan): string {
  const files = phase.context.heldOut.map(
    (file) => `${file.path.replace(/\n/g, "?")} (${file.reason.replace(/^holdout: /, "")})`,
  );
  return `  ${phase.id}: left out for holdout: ${files.join(", ")}`;
}

function tierText(phase: AgentPlan): string {
  const pinned = phase.pinned ? ` (${phase.pinned})` : "";
  return phase.routedFrom
    ? `${phase.tier} (breaker: ${phase.routedFrom} open)${pinned}`
    : `${phase.tier}${pinned}`;
}

function printGaps(gaps: Gap[], io: Io): void {
  const warnings = gaps.filter((gap) => gap.severity === "warning").length;
  if (gaps.length === 0) {
    io.out("Gaps in the intent spec: none");
    return;
  }
  io.out(`Gaps in the intent spec: ${warnings} warning(s), ${gaps.length - warnings} note(s)`);
  const rows = gaps.map((gap) => [gap.severity, gap.kind, gap.phase, gap.field]);
  // The field, last, is left unpadded: the message goes on the line below it.
  const widths = columnWidths(rows).slice(0, 3);
  for (const [index, gap] of gaps.entries()) {
    const row = rows[index] ?? [];
    io.out(`  ${padRow(row, widths)}`);
    io.out(`  ${" ".repeat(widths[0] ?? 0)}  ${gap.message}`);
  }
}

function printForecast(report: DryRunReport, io: Io): void {
  const { pricing, forecast } = report;
  const models = TIERS.map((tier) => `${tier} ${pricing.models[tier]}`).join(", ");
  const why =
    pricing.asked === pricing.provider
      ? ""
      : ` (a ${pricing.asked} run costs nothing: these are the same calls on ${pricing.provider})`;
  io.out(`Forecast, priced on ${pricing.provider}${why}: ${models}`);
  const rows = [
    ["PHASE", "AGENT IN", "JUDGES IN", "FAIL/TRY", "TRIES", "ESCALATES", "1 TRY", "MEDIAN", "P90"],
  ];
  const byId = new Map(forecast.phases.map((phase) => [phase.id, phase]));
  for (const phase of report.phases) {
    const figures = byId.get(phase.id);
    if (phase.kind !== "agent" || !figures) {
      rows.push([phase.id, "", "", "", "", "", "", "—", "—"]);
      continue;
    }
    const { rate } = phase;
    rows.push([
      phase.id,
      formatTokens(phase.tokens.system + phase.tokens.context + phase.tokens.prompt),
      formatTokens(phase.judges.reduce((sum, judge) => sum + judge.inTokens, 0)),
      phase.hopeless ? "100% unpassable" : rate ? `${percent(rate.rate)} ${rate.source}` : "",
      figures.meanTries.toFixed(2),
      percent(figures.escalated),
      formatCost(figures.cheapest.costUsd),
      formatCost(figures.median),
      formatCost(figures.p90),
    ]);
  }
  printTable(rows, io);
  const total = (figure: { tokens: number; costUsd: number }) =>
    `${formatCost(figure.costUsd)} (${formatTokens(Math.round(figure.tokens))} tokens)`;
  io.out(
    `  run: median ${total(forecast.median)}, p90 ${total(forecast.p90)}; every attempt passing at once ${total(forecast.cheapest)}; every phase passing on its last attempt ${total(forecast.dearest)}`,
  );
  const { outcomes, runs } = forecast;
  io.out(
    `  of ${formatTokens(runs)} simulated runs: ${percent(outcomes.succeeded / runs)} reach the end, ${percent(outcomes.failed / runs)} fail at a gate, ${percent(outcomes.human / runs)} are handed to a person, ${percent(outcomes.budget / runs)} stop at the budget`,
  );
  const budget = report.pipeline.budget;
  if (budget?.maxCostUsd !== undefined || budget?.maxTokens !== undefined) {
    const limits = [
      budget.maxCostUsd === undefined ? undefined : `$${budget.maxCostUsd}`,
      budget.maxTokens === undefined ? undefined : `${formatTokens(budget.maxTokens)} tokens`,
    ].filter(Boolean);
    io.out(`  budget: ${limits.join(" and ")} per run, checked before each call as the worker checks it`);
  }
  for (const note of pricing.notes) io.out(`  ${note}`);
  if (pricing.unpriced.length > 0) {
    io.out(
      `  no price for ${pricing.unpriced.join(", ")}: counted as $0 (add them under \`prices:\` in the settings file)`,
    );
    if (pricing.costLimits.length > 0) {
      io.out(
        `  with ${pricing.costLimits.join(" and ")} set, a run stops before its first call to a model it cannot price`,
      );
    }
  }
}

function printAssumptions(report: DryRunReport, io: Io): void {
  const { history } = report;
  io.out(
    `Failure rate per attempt (${history.note}; ${history.graded} graded attempt(s), ${history.counted} of them on the models below):`,
  );
  const rows = [["TASK", "TIER", "GRADED", "FAILED", "RATE", "SOURCE"]];
  for (const row of report.rates) {
    rows.push([
      row.task,
      row.tier,
      String(row.graded),
      String(row.failed),
      percent(row.rate),
      rateSource(row),
    ]);
  }
  printTable(rows, io);
  const artifacts = (Object.entries(ARTIFACT_TOKENS) as [Task, number][])
    .map(([task, tokens]) => `${task} ${formatTokens(tokens)}`)
    .join(", ");
  const defaults = TIERS.map((tier) => `${tier} ${percent(DEFAULT_FAILURE[tier])}`).join(", ");
  for (const line of [
    "Assumptions:",
    "  - tokens are characters / 4, as budgets count them; every input token is priced as uncached input",
    `  - an earlier phase's output is a placeholder of its assumed size: artifacts by task (${artifacts}), file edits ${formatTokens(FILES_TOKENS)}`,
    `  - a retry or escalation adds ${FEEDBACK_TOKENS} tokens of feedback; a judge answers in ${JUDGE_ANSWER_TOKENS} tokens; judges run on every attempt (failed asserts would skip them)`,
    `  - default failure rates per attempt (guesses, not measurements): ${defaults}; observed rates count the passed and failed attempts made on the same provider and model only, as the breakers do: simulated and recorded attempts never count toward a real model`,
    `  - ${formatTokens(SIMULATED_RUNS)} runs simulated with seed ${SEED}: the same inputs give the same figures; breakers open now route phases up, none opens during the run`,
    "  - per-phase median and p90 are of that phase's own cost; they do not add up to the run's",
  ])
    io.out(line);
}

/** Which history a rate comes from: that provider and model's, or none (the default). */
function rateSource(row: RateRow): string {
  const on = `${row.provider}/${row.model}`;
  const others = row.others > 0 ? `; ${row.others} attempt(s) on other providers or models not counted` : "";
  return row.source === "observed"
    ? `observed on ${on} (${row.failed} of ${row.graded} failed), blended with ${PRIOR_ATTEMPTS} default attempts${others}`
    : `no history on ${on}: the default rate${others}`;
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

function printTable(rows: string[][], io: Io): void {
  for (const line of textTable(rows, "  ")) io.out(line);
}
