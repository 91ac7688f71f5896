import { type BreakerKey, breakerKeyFor } from "../../engine/breaker.js";
import type { ResolvedAgentPhase } from "../../pipeline/resolved.js";
import { TIERS, type Tier } from "../../pipeline/schema.js";
import { createProviderRegistry, OPENAI_BASE_URL_VARIABLE } from "../../providers/registry.js";
import type { ServerSettings } from "../../providers/settings.js";

/** The prices a dry run uses, and the models it found no price for as it priced calls. */
export interface Pricing {
  /** The provider the run is priced on. */
  provider: string;
  models: Record<Tier, string>;
  unpriced: Set<string>;
  /** What the prices assume that the reader should know: a local model priced at $0, say. */
  notes: Set<string>;
  /** The provider a run or judge naming `name` is priced on: offline ones as anthropic. */
  pricedAs(name: string): string;
  modelFor(provider: string, tier: Tier): string;
  /** The breaker (and history) an attempt at `tier` is looked up by: the priced provider and the model it calls. */
  keyAt(phase: ResolvedAgentPhase, tier: Tier): BreakerKey;
  cost(provider: string, model: string, inTokens: number, outTokens: number): number;
}

/**
 * Prices from the catalog and the settings file; no provider is called and no key is read (only
 * the OpenAI-compatible server's address, which says whether its models are local and free). An
 * offline provider costs nothing, so its calls are priced as the same calls on anthropic.
 */
export function pricingFor(
  asked: string,
  settings: ServerSettings,
  env: NodeJS.ProcessEnv = {},
  tierModels?: Partial<Record<Tier, string>>,
): Pricing {
  const pricedAs = (name: string) => (name === "simulated" || name === "recorded" ? "anthropic" : name);
  const notes = new Set<string>();
  const url = env[OPENAI_BASE_URL_VARIABLE];
  const registry = createProviderRegistry({
    settings,
    env: url === undefined ? {} : { [OPENAI_BASE_URL_VARIABLE]: url },
    // `cost` asks `priceOf` before `price`, so the only warning is a local model's $0.
    warn: (message) => notes.add(message),
  });
  const provider = pricedAs(asked);
  // The repository's `tiers` are the asked provider's models, as a run pins them; an offline run
  // priced as anthropic keeps anthropic's own.
  const own = tierModels !== undefined && provider === asked ? { models: tierModels } : {};
  const modelFor = (name: string, tier: Tier) =>
    registry.forChoice({ name, ...(name === provider ? own : {}) }).modelFor(tier);
  const models = Object.fromEntries(TIERS.map((tier) => [tier, modelFor(provider, tier)])) as Record<
    Tier,
    string
  >;
  const unpriced = new Set<string>();
  return {
    provider,
    models,
    unpriced,
    notes,
    pricedAs,
    modelFor,
    keyAt: (phase, tier) => breakerKeyFor(phase, tier, { name: provider, modelFor: (at) => models[at] }),
    cost(at, model, inTokens, outTokens) {
      if (registry.priceOf(at, model) === undefined) {
        unpriced.add(`${at}/${model}`);
        return 0;
      }
      const usage = {
        inputTokens: inTokens,
        outputTokens: outTokens,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      };
      return registry.price({ provider: at, model, usage });
    },
  };
}
