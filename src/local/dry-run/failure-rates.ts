import { type BreakerKey, type BreakerSettings, halfOpensAt } from "../../engine/breaker.js";
import { tierAbove } from "../../engine/tiers.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../../pipeline/resolved.js";
import { TIERS, type Tier } from "../../pipeline/schema.js";
import type { BreakerRecord } from "../../store/breakers.js";
import { DEFAULT_FAILURE, PRIOR_ATTEMPTS } from "./assumptions.js";
import { type History, historyKey } from "./read-history.js";
import type { RateRow } from "./report.js";

// Failure rates and routing: pure functions over what read-history.ts read. Both are looked up
// per (provider, model, task, tier), as the worker keys its breakers: the history of one provider
// and model never predicts another's, and offline attempts never predict a real model's.

/** The breaker (and history) an attempt of `phase` at `tier` is looked up by: the provider and model it would call. */
export type KeyAt = (phase: ResolvedAgentPhase, tier: Tier) => BreakerKey;

/** {@link historyKey}s of breakers that are open now and still in their cool-off: they route phases up. */
export function openBreakers(breakers: BreakerRecord[], settings: BreakerSettings, now: number): Set<string> {
  const open = new Set<string>();
  for (const breaker of breakers) {
    const until = halfOpensAt(breaker, settings);
    if (until !== undefined && now < until) open.add(historyKey(breaker));
  }
  return open;
}

/** The tier a phase lands on when it asks for `tier`: past every open breaker, as the worker routes. */
function route(phase: ResolvedAgentPhase, tier: Tier, open: Set<string>, keyAt: KeyAt): Tier {
  let at = tier;
  for (let above = tierAbove(at); open.has(historyKey(keyAt(phase, at))) && above; above = tierAbove(at))
    at = above;
  return at;
}

/** The tiers a phase's attempts go through: its routed start tier, then (if it escalates) each one above. */
export function ladderOf(phase: ResolvedAgentPhase, open: Set<string>, keyAt: KeyAt): Tier[] {
  const tiers = [route(phase, phase.tier, open, keyAt)];
  if (!phase.onFail.escalate) return tiers;
  for (let above = tierAbove(tiers.at(-1) as Tier); above; above = tierAbove(tiers.at(-1) as Tier))
    tiers.push(route(phase, above, open, keyAt));
  return tiers;
}

/**
 * The failure rate of every (provider, model, task, tier) the pipeline can reach, keyed by
 * {@link historyKey} and sorted by task, then tier: the attempts observed on that very provider
 * and model blended with `PRIOR_ATTEMPTS` default ones, else the default. Attempts at the same
 * task and tier on other providers or models are counted in `others`, not in the rate.
 */
export function rateTable(
  pipeline: ResolvedPipeline,
  graded: History["graded"],
  open: Set<string>,
  keyAt: KeyAt,
): Map<string, RateRow> {
  const rows = new Map<string, RateRow>();
  for (const phase of pipeline.phases) {
    if (phase.kind !== "agent") continue;
    for (const tier of ladderOf(phase, open, keyAt)) {
      const at = keyAt(phase, tier);
      const key = historyKey(at);
      if (rows.has(key)) continue;
      const seen = graded.get(key);
      const others = othersAt(graded, at, key);
      const prior = DEFAULT_FAILURE[tier];
      rows.set(
        key,
        seen && seen.graded > 0
          ? {
              ...at,
              graded: seen.graded,
              failed: seen.failed,
              others,
              rate: (seen.failed + PRIOR_ATTEMPTS * prior) / (seen.graded + PRIOR_ATTEMPTS),
              source: "observed",
            }
          : { ...at, graded: 0, failed: 0, others, rate: prior, source: "default" },
      );
    }
  }
  const rank = (row: RateRow) => TIERS.indexOf(row.tier);
  return new Map(
    [...rows].sort(
      ([, a], [, b]) => a.task.localeCompare(b.task) || rank(a) - rank(b) || a.model.localeCompare(b.model),
    ),
  );
}

/** Graded attempts at the same task and tier on another provider or model (simulated ones, say). */
function othersAt(graded: History["graded"], at: BreakerKey, own: string): number {
  // Task and tier end the key and hold no slash; a model id may (OpenRouter's `meta-llama/...`).
  const tail = `/${at.task}/${at.tier}`;
  let others = 0;
  for (const [key, seen] of graded) if (key !== own && key.endsWith(tail)) others += seen.graded;
  return others;
}
