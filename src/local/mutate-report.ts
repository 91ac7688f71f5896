import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { textTable } from "../render/text-table.js";
import type { Io } from "./commands.js";
import type { GateCell, PhaseTrials, Trial } from "./mutate-trials.js";
import { MUTATION_KINDS } from "./mutations.js";

/**
 * Prints what `--mutate` found: per phase, a table of gates against outputs (the good one, then
 * each mutation) with how many mutations each gate caught of those it saw; then the catch per
 * kind, the kinds that did not apply, every miss, and `N of M mutations caught (X%)`. Returns the
 * exit code: 1 when a mutation got through every gate of its phase or a good output was refused.
 */
export function printMutationReport(phases: PhaseTrials[], pipeline: ResolvedPipeline, io: Io): number {
  const problems: string[] = [];
  for (const phase of phases) {
    io.out("");
    for (const line of phaseTable(phase)) io.out(line);
    const spec = pipeline.phases.find((p) => p.id === phase.id);
    if (spec?.kind === "agent" && spec.gates.some((gate) => "checks" in gate)) {
      // Not shown as a row: it would be a column of "-" that looks like a gate that saw nothing wrong.
      io.out(
        `  (its checks gate waits for the repository's CI on GitHub; offline it cannot run and catches nothing)`,
      );
    }
    const refused = phase.good.caughtBy;
    if (refused.length > 0) {
      problems.push(
        `✗ ${phase.id}: the good output fails its own gates (${refused.join(", ")}), so a catch there proves nothing`,
      );
    }
    for (const trial of phase.mutations) {
      if (trial.caughtBy.length === 0) problems.push(`✗ ${phase.id}: ${trial.kind} got through every gate`);
    }
  }
  const trials = phases.flatMap((phase) => phase.mutations);
  const caught = trials.filter((trial) => trial.caughtBy.length > 0).length;
  io.out("");
  const byKind = MUTATION_KINDS.flatMap((kind) => {
    const ofKind = trials.filter((trial) => trial.kind === kind);
    if (ofKind.length === 0) return [];
    return [`${kind} ${ofKind.filter((trial) => trial.caughtBy.length > 0).length} of ${ofKind.length}`];
  });
  io.out(`by kind: ${byKind.join(", ")}`);
  for (const line of notApplied(phases)) io.out(line);
  const ungated = pipeline.phases.filter(
    (phase) => phase.kind === "agent" && !phases.some((p) => p.id === phase.id),
  );
  if (ungated.length > 0) {
    io.out(`not mutated: ${ungated.map((phase) => phase.id).join(", ")} (no gates, or no passing attempt)`);
  }
  for (const line of problems) io.out(line);
  const rate = trials.length === 0 ? 0 : Math.floor((100 * caught) / trials.length);
  io.out(`${caught} of ${trials.length} mutations caught (${rate}%)`);
  return problems.length > 0 || trials.length === 0 ? 1 : 0;
}

/** The phase's gates down, its outputs across, and each gate's catch on the right. */
function phaseTable(phase: PhaseTrials): string[] {
  const columns: Trial[] = [phase.good, ...phase.mutations];
  const rows: string[][] = [[phase.id, ...columns.map((trial) => trial.kind), "caught"]];
  phase.labels.forEach((label, index) => {
    const cells = columns.map((trial) => cellText(trial.cells[index], trial.kind === "good"));
    const saw = phase.mutations.filter((trial) => trial.cells[index]?.outcome !== "skipped");
    const caught = saw.filter((trial) => trial.cells[index]?.outcome === "caught").length;
    rows.push([`  ${label}`, ...cells, `${caught} of ${saw.length}`]);
  });
  const verdicts = phase.mutations.map((trial) => (trial.caughtBy.length > 0 ? "yes" : "NO"));
  rows.push(["  caught by a gate", "", ...verdicts, ""]);
  return textTable(rows);
}

/**
 * `pass`, `caught`, `-` (not run: an assert had already refused it) or `error`; a judge adds its
 * score, and `floor` when a criterion under its floor refused the output whatever the score.
 */
function cellText(cell: GateCell | undefined, good: boolean): string {
  if (!cell || cell.outcome === "skipped") return "-";
  const word = cell.outcome === "caught" && good ? "FAIL" : cell.outcome;
  if (cell.score === undefined) return word;
  return `${word} ${cell.score.toFixed(2)}${cell.belowFloor ? " floor" : ""}`;
}

/** The kinds some phases did not get, with why, one line for each reason. */
function notApplied(phases: PhaseTrials[]): string[] {
  const groups = new Map<string, string[]>();
  for (const phase of phases) {
    for (const { kind, why } of phase.skipped) {
      const key = `${kind}: ${why}`;
      groups.set(key, [...(groups.get(key) ?? []), phase.id]);
    }
  }
  return [...groups].map(([reason, ids]) => {
    const which = ids.length === phases.length ? "any phase" : ids.join(", ");
    return `not applied to ${which}: ${reason}`;
  });
}
