import { type BreakerKey, breakerKeyFor } from "../../engine/breaker.js";
import type { ResolvedAgentPhase } from "../../pipeline/resolved.js";
import { TIERS, type Tier } from "../../pipeline/schema.js";
import { createProviderRegistry } from "../../providers/registry.js";
import type { ServerSettings } from "../../providers/settings.js";

/** The prices a dry run uses, and the models it found no price for as it priced calls. */
export interface Pricing {
  /** The provider the run is priced on. */
  provider: string;
  models: Record<Tier, string>;
  unpriced: Set<string>;
  /** The provider a run or judge naming `name` is priced on: offline ones as anthropic. */
  pricedAs(name: string): string;
  modelFor(provider: string, tier: Tier): string;
  /** The breaker (and history) an attempt at `tier` is looked up by: the priced provider and the model it calls. */
  keyAt(phase: ResolvedAgentPhase, tier: Tier): BreakerKey;
  cost(provider: string, model: string, inTokens: number, outTokens: number): number;
}

/**
 * Prices from the catalog and the settings file; no provider is called and no key is read. An
 * offline provider costs nothing, so its calls are priced as the same calls on anthropic.
 */
export function pricingFor(asked: string, settings: ServerSettings): Pricing {
  const pricedAs = (name: string) => (name === "simulated" || name === "recorded" ? "anthropic" : name);
  const registry = createProviderRegistry({ settings, env: {} });
  const modelFor = (provider: string, tier: Tier) => registry.forChoice({ name: provider }).modelFor(tier);
  const provider = pricedAs(asked);
  const models = Object.fromEntries(TIERS.map((tier) => [tier, modelFor(provider, tier)])) as Record<
    Tier,
    string
  >;
  const unpriced = new Set<string>();
  return {
    provider,
    models,
    unpriced,
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
