import { tierAbove } from "../engine/tiers.js";
import { formatProblem } from "../pipeline/problem.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../pipeline/resolved.js";
import type { Tier } from "../pipeline/schema.js";
import type { ProviderChoice } from "../store/runs.js";
import { readFixtures } from "./recorded.js";
import {
  createProviderRegistry,
  KEY_VARIABLES,
  OPENAI_BASE_URL_VARIABLE,
  type ProviderRegistry,
} from "./registry.js";
import { PROVIDER_NAMES, type ServerSettings } from "./settings.js";

// Issue 12, item 4: every setup mistake used to leave a dead run and an empty branch behind (no
// API key, a model with no price, a base URL without a scheme, a fixtures file that cannot be
// read). What a run needs is checked here before it is created, and every problem is told at once.

export interface PreflightInput {
  /** The provider the run would pin (its fixtures file and the repository's tier models included). */
  choice: ProviderChoice;
  pipeline: ResolvedPipeline;
  settings: ServerSettings;
  /** Where keys and the OpenAI-compatible address come from; read for presence, never printed. */
  env: NodeJS.ProcessEnv;
}

/** Providers that call no model API: no key, no address, no price needed. */
const OFFLINE = new Set(["simulated", "recorded"]);

/**
 * What stops a run before its first call, as one line each naming what to set: a key missing for
 * a provider the run may call (its own, a judge's, a fallback's), an address that is not an
 * http(s) URL, a model the run may call with no price while a cost limit is set, a fixtures file
 * that cannot be read. Empty when the run can start. Nothing is called and nothing is written.
 */
export function preflight(input: PreflightInput): string[] {
  const { choice, pipeline, settings, env } = input;
  if (!(PROVIDER_NAMES as readonly string[]).includes(choice.name))
    return [`unknown provider "${choice.name}": choose one of ${PROVIDER_NAMES.join(", ")}`];
  const registry = createProviderRegistry({ settings, env });
  const problems = [...fixtureProblems(choice)];
  const uses = modelUses(registry, choice, pipeline);
  for (const [provider, why] of uses.providers) problems.push(...accessProblems(registry, provider, why));
  const limits = costLimits(pipeline, settings);
  if (limits.length > 0) {
    for (const [provider, models] of uses.models) {
      for (const [model, where] of models) {
        if (registry.isPriced(provider, model)) continue;
        problems.push(
          `no price for ${provider}/${model} (${placesText(where)}), and ${limits.join(" and ")} cannot be checked without one: add \`${model}: { input: <USD per million>, output: <USD per million> }\` under \`prices:\` in the settings file, or \`${model}: { input: 0, output: 0 }\` to mark it free`,
        );
      }
    }
  }
  return problems;
}

/** The problems as one message: a heading, then one line per problem. */
export function preflightMessage(problems: string[]): string {
  return [
    `this run cannot start: ${problems.length} problem(s), and nothing was created (no run, no branch):`,
    ...problems.map((problem) => `  - ${problem}`),
  ].join("\n");
}

function fixtureProblems(choice: ProviderChoice): string[] {
  if (choice.name !== "recorded") return [];
  if (!choice.fixtures) return ["the recorded provider needs a fixtures file: pass --fixtures FILE"];
  const read = readFixtures(choice.fixtures);
  return read.ok ? [] : read.problems.map((problem) => `the fixtures file: ${formatProblem(problem)}`);
}

/** A key for a provider that needs one, and an address that is an http(s) URL. */
function accessProblems(registry: ProviderRegistry, provider: string, why: string): string[] {
  if (OFFLINE.has(provider)) return [];
  const problems: string[] = [];
  const address = registry.baseUrl(provider);
  if (provider === "openai-compatible" && address === undefined) {
    problems.push(
      `no address for openai-compatible (${why}): set providers.openai-compatible.base_url in the settings file, or ${OPENAI_BASE_URL_VARIABLE} (with its /v1, e.g. http://localhost:11434/v1)`,
    );
  }
  if (address && !isHttpUrl(address.url)) {
    problems.push(
      `${address.from} is "${withoutSecrets(address.url)}", not an http(s) URL (${why}): write it with its scheme and host, e.g. http://localhost:11434/v1`,
    );
  }
  const variables = KEY_VARIABLES[provider] ?? [];
  if (provider !== "openai-compatible" && variables.length > 0 && !registry.hasKey(provider))
    problems.push(`no API key for ${provider} (${why}): set ${variables.join(" or ")}`);
  return problems;
}

/**
 * The address as a problem may show it: a GitHub issue gets the problems, so a user and password
 * before `@`, and a query or fragment (where keys go), are left out.
 */
function withoutSecrets(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_all, scheme: string | undefined) => `${scheme ?? ""}…@`)
    .replace(/[?#].*$/s, "?…");
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** Which limits refuse a call to a model they cannot price. */
function costLimits(pipeline: ResolvedPipeline, settings: ServerSettings): string[] {
  const budget = pipeline.budget;
  return [
    budget?.maxCostUsd === undefined ? undefined : "the pipeline's budget.max_cost_usd",
    budget?.dailyMaxCostUsd === undefined ? undefined : "the repository's budget.daily_max_cost_usd",
    settings.budget.daily_max_cost_usd === undefined ? undefined : "the settings' budget.daily_max_cost_usd",
  ].filter((limit): limit is string => limit !== undefined);
}

interface Uses {
  /** Every provider the run may call, with why (the first reason found). */
  providers: Map<string, string>;
  /** Provider -> model -> where it is used. */
  models: Map<string, Map<string, Place[]>>;
}

/** Where a model is called: an agent phase's attempts or a judge's grades, at a tier. */
interface Place {
  kind: "phase" | "judge";
  id: string;
  tier: Tier;
  fallback: boolean;
}

/** `at deep: phases plan, implement; judges of implement`, tier by tier. */
function placesText(places: Place[]): string {
  const tiers = [...new Set(places.map((place) => place.tier))];
  return tiers
    .map((tier) => {
      const at = places.filter((place) => place.tier === tier);
      const ids = (kind: Place["kind"]) =>
        at.filter((p) => p.kind === kind).map((p) => (p.fallback ? `${p.id} (on fallback)` : p.id));
      const phases = ids("phase");
      const judges = ids("judge");
      const parts = [
        phases.length > 0 ? `phase(s) ${phases.join(", ")}` : undefined,
        judges.length > 0 ? `the judge(s) of ${judges.join(", ")}` : undefined,
      ].filter(Boolean);
      return `at ${tier}: ${parts.join("; ")}`;
    })
    .join("; ");
}

/**
 * Every provider and model the run may call: each agent phase on its tier and every tier above
 * (an escalation or an open breaker moves it up), with the model it pins on its own tier; each
 * judge on its provider (named, or the one `judgeFor` would pick) and tier; and the fallbacks of
 * each, which take a call when its provider stays unavailable.
 */
function modelUses(registry: ProviderRegistry, choice: ProviderChoice, pipeline: ResolvedPipeline): Uses {
  const uses: Uses = { providers: new Map(), models: new Map() };
  const use = (at: ProviderChoice, why: string, where: Omit<Place, "fallback">, pinned?: string) => {
    const { tier } = where;
    const chain = [at.name, ...(OFFLINE.has(at.name) ? [] : registry.fallbacksOf(at.name))];
    for (const [index, name] of chain.entries()) {
      if (!uses.providers.has(name)) uses.providers.set(name, index === 0 ? why : `fallback of ${at.name}`);
      if (OFFLINE.has(name)) continue;
      // A fallback uses its own model for the tier: a pinned model belongs to the first provider.
      const model =
        index === 0 && pinned !== undefined
          ? pinned
          : registry.forChoice(index === 0 ? at : { name }).modelFor(tier);
      const models = uses.models.get(name) ?? new Map<string, Place[]>();
      uses.models.set(name, models);
      const places = models.get(model) ?? [];
      const place = { ...where, fallback: index > 0 };
      if (!places.some((known) => JSON.stringify(known) === JSON.stringify(place))) places.push(place);
      models.set(model, places);
    }
  };
  for (const phase of pipeline.phases) {
    if (phase.kind !== "agent") continue;
    for (const tier of tiersFrom(phase.tier)) {
      const pinned = tier === phase.tier ? phase.model : undefined;
      use(choice, "the run's provider", { kind: "phase", id: phase.id, tier }, pinned);
    }
    judgeUses(registry, choice, phase, use);
  }
  return uses;
}

function judgeUses(
  registry: ProviderRegistry,
  choice: ProviderChoice,
  phase: ResolvedAgentPhase,
  use: (at: ProviderChoice, why: string, where: Omit<Place, "fallback">, pinned?: string) => void,
): void {
  for (const gate of phase.gates) {
    if (!("judge" in gate)) continue;
    const { provider, model, tier = "deep" } = gate.judge;
    const judge = registry.judgeChoice(choice, provider);
    use(judge, `the judge of phase ${phase.id}`, { kind: "judge", id: phase.id, tier }, model);
  }
}

function tiersFrom(tier: Tier): Tier[] {
  const tiers = [tier];
  for (let above = tierAbove(tier); above; above = tierAbove(above)) tiers.push(above);
  return tiers;
}
