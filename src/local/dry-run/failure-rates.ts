import { type BreakerSettings, halfOpensAt } from "../../engine/breaker.js";
import { tierAbove } from "../../engine/tiers.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../../pipeline/resolved.js";
import { type Task, TIERS, type Tier } from "../../pipeline/schema.js";
import type { BreakerRecord } from "../../store/breakers.js";
import { DEFAULT_FAILURE, PRIOR_ATTEMPTS } from "./assumptions.js";
import type { History } from "./read-history.js";
import type { RateRow } from "./report.js";

// Failure rates and routing: pure functions over what read-history.ts read.

/** (task/tier) keys of breakers that are open now and still in their cool-off: they route phases up. */
export function openBreakers(breakers: BreakerRecord[], settings: BreakerSettings, now: number): Set<string> {
  const open = new Set<string>();
  for (const breaker of breakers) {
    const until = halfOpensAt(breaker, settings);
    if (until !== undefined && now < until) open.add(`${breaker.task}/${breaker.tier}`);
  }
  return open;
}

/** The tier a phase of `task` lands on when it asks for `tier`: past every open breaker, as the worker routes. */
function route(task: Task, tier: Tier, open: Set<string>): Tier {
  let at = tier;
  for (let above = tierAbove(at); open.has(`${task}/${at}`) && above; above = tierAbove(at)) at = above;
  return at;
}

/** The tiers a phase's attempts go through: its routed start tier, then (if it escalates) each one above. */
export function ladderOf(phase: ResolvedAgentPhase, open: Set<string>): Tier[] {
  const tiers = [route(phase.task, phase.tier, open)];
  if (!phase.onFail.escalate) return tiers;
  for (let above = tierAbove(tiers.at(-1) as Tier); above; above = tierAbove(tiers.at(-1) as Tier))
    tiers.push(route(phase.task, above, open));
  return tiers;
}

/**
 * The failure rate of every (task, tier) the pipeline can reach, keyed `task/tier` and sorted by
 * task, then tier: observed rates blended with `PRIOR_ATTEMPTS` default ones, else the default.
 */
export function rateTable(
  pipeline: ResolvedPipeline,
  graded: History["graded"],
  open: Set<string>,
): Map<string, RateRow> {
  const rows = new Map<string, RateRow>();
  for (const phase of pipeline.phases) {
    if (phase.kind !== "agent") continue;
    for (const tier of ladderOf(phase, open)) {
      const key = `${phase.task}/${tier}`;
      if (rows.has(key)) continue;
      const seen = graded.get(key);
      const prior = DEFAULT_FAILURE[tier];
      rows.set(
        key,
        seen && seen.graded > 0
          ? {
              task: phase.task,
              tier,
              graded: seen.graded,
              failed: seen.failed,
              rate: (seen.failed + PRIOR_ATTEMPTS * prior) / (seen.graded + PRIOR_ATTEMPTS),
              source: "observed",
            }
          : { task: phase.task, tier, graded: 0, failed: 0, rate: prior, source: "default" },
      );
    }
  }
  const rank = (row: RateRow) => TIERS.indexOf(row.tier);
  return new Map([...rows].sort(([, a], [, b]) => a.task.localeCompare(b.task) || rank(a) - rank(b)));
}
