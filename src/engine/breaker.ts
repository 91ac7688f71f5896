import type { Task, Tier } from "../pipeline/schema.js";
import type { RunEvent, RunState } from "./types.js";

/**
 * The circuit breaker's rules, one breaker per (provider, model, task type, tier). Pure: the
 * worker reads a breaker from the store, asks these functions, and saves what they return in the
 * transaction that records the run's event, so a failure is counted once however often a job is
 * redelivered.
 */

/**
 * Which breaker an attempt asks and counts toward: the run's provider, the model the tier maps to
 * for that run, the phase's task type and the tier. Keyed by provider and model so that offline
 * runs (simulated, recorded) that fail never open a breaker a real run asks, and one provider's
 * outage never moves another provider's runs up a tier (issue 12, item 3).
 */
export interface BreakerKey {
  provider: string;
  model: string;
  task: Task;
  tier: Tier;
}

/**
 * The breaker key of an attempt of `phase` at `tier` on `provider` (the run's pinned choice): a
 * model the phase pins is for its own tier only, as the worker calls it; other tiers take the
 * provider's model for the tier (the repository's `tiers`, the settings, or the defaults).
 */
export function breakerKeyFor(
  phase: { task: Task; tier: Tier; model?: string },
  tier: Tier,
  provider: { name: string; modelFor: (tier: Tier) => string },
): BreakerKey {
  const model = phase.model !== undefined && tier === phase.tier ? phase.model : provider.modelFor(tier);
  return { provider: provider.name, model, task: phase.task, tier };
}

/** A breaker as people name it: `anthropic/claude-haiku-5-5 write at fast`. */
export function breakerName(key: BreakerKey): string {
  return `${key.provider}/${key.model} ${key.task} at ${key.tier}`;
}

export interface BreakerSettings {
  /** Counted failures within `windowMs` that open a closed breaker. */
  threshold: number;
  /** How far back failures count. */
  windowMs: number;
  /** How long an open breaker routes phases around its tier before it lets one trial through. */
  cooloffMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  threshold: 3,
  windowMs: 60 * 60_000,
  cooloffMs: 15 * 60_000,
};

/** The defaults with `partial` over them, checked: a bad value names the setting to fix. */
export function breakerSettings(partial: Partial<BreakerSettings> = {}): BreakerSettings {
  const settings = { ...DEFAULT_BREAKER_SETTINGS, ...partial };
  if (!Number.isInteger(settings.threshold) || settings.threshold < 1)
    throw new Error(`breaker.threshold must be a whole number of at least 1, got ${settings.threshold}`);
  for (const name of ["windowMs", "cooloffMs"] as const) {
    if (!Number.isFinite(settings[name]) || settings[name] <= 0)
      throw new Error(`breaker.${name} must be a positive number of milliseconds, got ${settings[name]}`);
  }
  return settings;
}

export type BreakerState = "closed" | "open" | "half-open";

export interface Breaker {
  state: BreakerState;
  /** When counted failures happened, oldest first; only those within the window count. */
  failures: number[];
  /** When the breaker last opened (set while open or half-open). */
  openedAt?: number;
  /**
   * The one attempt let through after the cool-off (half-open), named by `run/phase/attempt`: its
   * outcome closes or re-opens the breaker. The same attempt asking again (a job redelivered after
   * a crash) is still the trial; a trial silent for a whole cool-off is taken over by another.
   */
  trial?: { key: string; startedAt: number };
}

export const CLOSED_BREAKER: Breaker = { state: "closed", failures: [] };

/**
 * What an attempt at the breaker's tier came to: `failure` (a call that failed after retries, or
 * a failed quality gate), `success` (the gates passed), or `void` (it ended without saying
 * anything about the tier: a configuration error, a grader error, a cancelled run).
 */
export type BreakerOutcome = "success" | "failure" | "void";

export type Admission =
  | { allowed: true; breaker: Breaker; trial: boolean }
  | { allowed: false; state: "open" | "half-open"; reason: string };

/** Whether the attempt `key` may start at the breaker's tier at `now`; it may become the trial. */
export function admit(
  breaker: Breaker,
  attempt: { key: string; now: number },
  settings: BreakerSettings,
): Admission {
  const { key, now } = attempt;
  const recent = failuresInWindow(breaker, now, settings);
  if (breaker.state === "closed") return { allowed: true, breaker, trial: false };
  if (breaker.state === "open") {
    const halfOpensAt = (breaker.openedAt ?? 0) + settings.cooloffMs;
    if (now < halfOpensAt) {
      return {
        allowed: false,
        state: "open",
        reason: `breaker open after ${recent} failure(s) in the last ${spanText(settings.windowMs)}; it lets a trial through in ${spanText(halfOpensAt - now)}`,
      };
    }
    return { allowed: true, breaker: withTrial(breaker, key, now), trial: true };
  }
  const trial = breaker.trial;
  if (trial?.key === key) return { allowed: true, breaker, trial: true };
  if (trial && now - trial.startedAt < settings.cooloffMs) {
    return {
      allowed: false,
      state: "half-open",
      reason: `breaker half-open: a trial attempt (${trial.key}) is under way`,
    };
  }
  return { allowed: true, breaker: withTrial(breaker, key, now), trial: true };
}

/**
 * The breaker after an attempt `key` at its tier ended with `outcome` at `now`. Only the trial's
 * outcome moves a half-open breaker; other failures at the tier are still counted.
 */
export function recordOutcome(
  breaker: Breaker,
  outcome: { result: BreakerOutcome; key: string; now: number },
  settings: BreakerSettings,
): Breaker {
  const { result, key, now } = outcome;
  const isTrial = breaker.state === "half-open" && breaker.trial?.key === key;
  if (result === "failure") {
    const failures = [...breaker.failures.filter((at) => at > now - settings.windowMs), now];
    if (isTrial || (breaker.state === "closed" && failures.length >= settings.threshold))
      return { state: "open", failures, openedAt: now };
    return { ...breaker, failures };
  }
  if (!isTrial) return breaker;
  // The trial passed: the tier works again, and the old failures are forgiven.
  if (result === "success") return { state: "closed", failures: [] };
  // The trial said nothing about the tier: the next attempt to ask becomes the trial.
  const { trial: _gone, ...open } = breaker;
  return { ...open, state: "open" };
}

/**
 * What an event says about the tier of the attempt in progress, for the breaker it asked:
 * - a call that failed after the adapter's retries (`unavailable`), or whose answer was empty,
 *   cut off or not the JSON asked for (`bad-output`), is a failure: a cheap model that keeps
 *   answering malformed output is what the breaker is for;
 * - a failed quality gate is a failure, passed gates a success;
 * - configuration errors (401, 403, unknown model), budget stops, missing fixtures and cancelled
 *   calls say nothing about the tier, nor does a grader error (it is not a failing grade), nor a
 *   run stopped mid-attempt: they are `void`.
 * Undefined for every other event.
 */
export function breakerOutcome(state: RunState, event: RunEvent): BreakerOutcome | undefined {
  switch (event.type) {
    case "agent.failed":
      return event.kind === "unavailable" || event.kind === "bad-output" ? "failure" : "void";
    case "gates.evaluated":
      if (event.verdict.results.some((r) => r.error)) return "void";
      return event.verdict.pass ? "success" : "failure";
    case "run.cancelled":
    case "run.merged":
    case "run.aborted":
    case "phase.retry":
    case "phase.escalate":
      return state.step === "call" || state.step === "judge" ? "void" : undefined;
    default:
      return undefined;
  }
}

/** Names one attempt of one run's phase: how a half-open breaker knows its trial. */
export function attemptKey(runId: string, phaseId: string, attempt: number): string {
  return `${runId}/${phaseId}/${attempt}`;
}

/** How many counted failures lie within the window at `now`. */
export function failuresInWindow(breaker: Breaker, now: number, settings: BreakerSettings): number {
  return breaker.failures.filter((at) => at > now - settings.windowMs).length;
}

/** When an open breaker lets its trial through; undefined when it is not open. */
export function halfOpensAt(breaker: Breaker, settings: BreakerSettings): number | undefined {
  return breaker.state === "open" && breaker.openedAt !== undefined
    ? breaker.openedAt + settings.cooloffMs
    : undefined;
}

function withTrial(breaker: Breaker, key: string, now: number): Breaker {
  return { ...breaker, state: "half-open", trial: { key, startedAt: now } };
}

/** A span as people say it: "15 min", "1 h". */
export function spanText(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms / 60_000));
  return whole % 60 === 0 ? `${whole / 60} h` : `${whole} min`;
}
