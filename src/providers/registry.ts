import type { Tier } from "../pipeline/schema.js";
import type { ProviderChoice } from "../store/runs.js";
import {
  ANTHROPIC_DEFAULT_MODELS,
  anthropicPriceFor,
  GEMINI_DEFAULT_MODELS,
  GEMINI_PRICES,
  OPENAI_COMPATIBLE_DEFAULT_MODELS,
  OPENAI_COMPATIBLE_LOCAL_PRICE,
  OPENAI_COMPATIBLE_PRICES,
} from "./catalog.js";
import { isLocalUrl } from "./local-url.js";
import { costOf, type Price } from "./prices.js";
import { type ModelRequest, type ModelResponse, type Provider, ProviderError } from "./provider.js";
import { createRecordedProvider, loadFixtures } from "./recorded.js";
import {
  durationMs,
  PROVIDER_NAMES,
  type ProviderName,
  type ProviderSettings,
  type ServerSettings,
} from "./settings.js";
import { createSimulatedProvider } from "./simulated.js";

/** Where each provider finds its key; the one place that reads them. */
export const KEY_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  anthropic: ["ANTHROPIC_API_KEY"],
  gemini: ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
  // Not OPENAI_API_KEY: a key meant for OpenAI must not go to whatever server the URL names.
  "openai-compatible": ["ATOMIC_SCRUM_OPENAI_API_KEY"],
};

/** Where the OpenAI-compatible server is, when the settings file does not say. */
export const OPENAI_BASE_URL_VARIABLE = "ATOMIC_SCRUM_OPENAI_BASE_URL";

export interface ProviderRegistry {
  /** Providers that can run here now: the offline ones, and real ones whose key (or URL) is set. */
  available(): ProviderName[];
  /** The provider a run pinned (with its tier models and fallback), built once per choice. */
  forChoice(choice: ProviderChoice): Provider;
  /** What a response cost, from the price table; 0 for offline providers and unknown models. */
  price(response: Pick<ModelResponse, "provider" | "model" | "usage">): number;
  /** The price of `model`, when the table has it (budgets estimate a call before making it). */
  priceOf(provider: string, model: string): Price | undefined;
  /** Whether a call to `model` can be priced: a cost budget refuses a call it cannot price. */
  isPriced(provider: string, model: string): boolean;
  /**
   * The provider that judges a run's work: the one the gate names, else a different model family
   * from the author's when this server has one (a model grading its own family's output is biased
   * toward it), else the author's own.
   */
  judgeFor(author: ProviderChoice, named?: string): Provider;
  /** The provider choice `judgeFor` builds its judge from. */
  judgeChoice(author: ProviderChoice, named?: string): ProviderChoice;
  /** The fallback providers a call to `name` may go on to: those of its chain this server offers. */
  fallbacksOf(name: string): string[];
  /** Whether the provider's API key is set (offline providers and openai-compatible need none). */
  hasKey(name: string): boolean;
  /** The base URL the provider calls, and where it was set; undefined for the provider's default. */
  baseUrl(name: string): { url: string; from: string } | undefined;
}

/** Families a judge may be switched to by default: hosted models of a known family. */
const JUDGE_FAMILIES = ["anthropic", "gemini"] as const;

/**
 * Builds providers from the server settings and the environment. Keys are read here and handed
 * to the adapters; they never reach settings, logs or prompts. A provider whose key is missing is
 * still built: its calls fail at once with a `config` error naming the variable to set.
 */
export function createProviderRegistry(options: {
  settings: ServerSettings;
  env: NodeJS.ProcessEnv;
  /** Warns once per model with no price (its calls then count $0 toward budgets). */
  warn?: (message: string) => void;
}): ProviderRegistry {
  const { settings, env } = options;
  const built = new Map<string, Provider>();
  const unpriced = new Set<string>();
  const told = new Set<string>();
  const keyOf = (name: string) =>
    (KEY_VARIABLES[name] ?? []).map((variable) => env[variable]?.trim()).find((value) => value) || undefined;
  const settingsOf = (name: string): ProviderSettings =>
    (settings.providers as Record<string, ProviderSettings | undefined>)[name] ?? {};
  const baseUrlOf = (name: string) =>
    settingsOf(name).base_url ?? (name === "openai-compatible" ? env[OPENAI_BASE_URL_VARIABLE] : undefined);

  const make = (name: string, choice: ProviderChoice): Provider => {
    const own = settingsOf(name);
    const models: Partial<Record<Tier, string>> = {
      ...own.models,
      ...(name === choice.name ? choice.models : {}),
    };
    const common = {
      models,
      ...(own.max_retries === undefined ? {} : { maxRetries: own.max_retries }),
      ...(own.timeout === undefined ? {} : { timeoutMs: durationMs(own.timeout) }),
    };
    const apiKey = keyOf(name);
    const baseUrl = baseUrlOf(name);
    switch (name) {
      case "simulated":
        return createSimulatedProvider();
      case "recorded": {
        if (!choice.fixtures)
          throw new ProviderError("the recorded provider needs a fixtures file", "config");
        return createRecordedProvider(loadFixtures(choice.fixtures), choice.fixtures);
      }
      // The SDKs load on a provider's first call, so commands that never call one (and the
      // offline providers) start without them.
      case "anthropic":
        return lazyProvider(name, models, ANTHROPIC_DEFAULT_MODELS, async () =>
          (await import("./anthropic.js")).createAnthropicProvider({
            ...common,
            ...(apiKey ? { apiKey } : {}),
            ...(baseUrl ? { baseURL: baseUrl } : {}),
          }),
        );
      case "gemini":
        return lazyProvider(name, models, GEMINI_DEFAULT_MODELS, async () =>
          (await import("./gemini.js")).createGeminiProvider({
            ...common,
            ...(apiKey ? { apiKey } : {}),
            ...(baseUrl ? { baseUrl } : {}),
          }),
        );
      case "openai-compatible":
        return lazyProvider(name, models, OPENAI_COMPATIBLE_DEFAULT_MODELS, async () =>
          (await import("./openai-compatible.js")).createOpenAICompatibleProvider({
            ...common,
            ...(apiKey ? { apiKey } : {}),
            ...(baseUrl ? { baseURL: baseUrl } : {}),
          }),
        );
      default:
        throw new ProviderError(
          `unknown provider "${name}"; choose one of: ${PROVIDER_NAMES.join(", ")}`,
          "config",
        );
    }
  };

  const priceOf = (provider: string, model: string): Price | undefined => {
    const configured = settings.prices[model];
    if (configured) {
      return {
        input: configured.input,
        output: configured.output,
        cacheRead: configured.cache_read ?? configured.input,
        cacheWrite: configured.cache_write ?? configured.input,
      };
    }
    if (provider === "gemini") return GEMINI_PRICES[model];
    if (provider === "openai-compatible") return OPENAI_COMPATIBLE_PRICES[model] ?? localPrice(model);
    return undefined;
  };

  /**
   * A model served on this machine (the base URL is loopback) costs nothing: priced at $0, and
   * said so once per model (issue 12, item 5). A remote endpoint (a LAN box, a hosted service)
   * may bill, and a cost budget must never pass a model it cannot price: it stays unpriced until
   * the settings file prices it (`{ input: 0, output: 0 }` marks it free).
   */
  const localPrice = (model: string): Price | undefined => {
    const url = baseUrlOf("openai-compatible");
    if (url === undefined || !isLocalUrl(url)) return undefined;
    if (!told.has(model)) {
      told.add(model);
      options.warn?.(
        `openai-compatible model ${model} at ${url} is priced at $0 (local model; set prices.${model} in the settings file to change)`,
      );
    }
    return OPENAI_COMPATIBLE_LOCAL_PRICE;
  };

  const available = (): ProviderName[] =>
    PROVIDER_NAMES.filter((name) => {
      if (name === "simulated" || name === "recorded") return true;
      if (name === "openai-compatible") return baseUrlOf(name) !== undefined;
      return keyOf(name) !== undefined;
    });

  // Fallbacks chain (anthropic -> gemini -> openai-compatible); the settings refuse a circle. A
  // fallback without its key here is skipped: it would turn a passing outage into a fatal error.
  const fallbacksOf = (name: string): string[] => {
    const offered = new Set<string>(available());
    const chain: string[] = [];
    for (let next = settingsOf(name).fallback; next !== undefined; next = settingsOf(next).fallback) {
      if (offered.has(next)) chain.push(next);
    }
    return chain;
  };

  const forChoice = (choice: ProviderChoice): Provider => {
    const key = JSON.stringify(choice);
    const known = built.get(key);
    if (known) return known;
    const first = make(choice.name, choice);
    const chain = [first, ...fallbacksOf(choice.name).map((next) => make(next, choice))];
    const provider = chain.length > 1 ? withFallbacks(chain) : first;
    built.set(key, provider);
    return provider;
  };

  const judgeChoice = (author: ProviderChoice, named?: string): ProviderChoice => {
    if (named !== undefined) return { name: named };
    if ((JUDGE_FAMILIES as readonly string[]).includes(author.name)) {
      const other = JUDGE_FAMILIES.find((name) => name !== author.name && available().includes(name));
      if (other) return { name: other };
    }
    return author;
  };

  return {
    available,
    forChoice,
    judgeFor: (author, named) => forChoice(judgeChoice(author, named)),
    judgeChoice,
    fallbacksOf,
    hasKey: (name) => keyOf(name) !== undefined,
    baseUrl(name) {
      const own = settingsOf(name).base_url;
      if (own !== undefined) return { url: own, from: `providers.${name}.base_url in the settings file` };
      const fromEnv = name === "openai-compatible" ? env[OPENAI_BASE_URL_VARIABLE] : undefined;
      return fromEnv === undefined ? undefined : { url: fromEnv, from: OPENAI_BASE_URL_VARIABLE };
    },
    price(response) {
      if (response.provider === "simulated" || response.provider === "recorded") {
        const configured = settings.prices[response.model];
        return configured ? costOf(response.usage, priceOf(response.provider, response.model) as Price) : 0;
      }
      const price =
        response.provider === "anthropic" && !settings.prices[response.model]
          ? anthropicPriceFor(response.model, response.usage)
          : priceOf(response.provider, response.model);
      if (price) return costOf(response.usage, price);
      const what = `${response.provider}/${response.model}`;
      if (!unpriced.has(what)) {
        unpriced.add(what);
        options.warn?.(
          `no price for ${what}: its calls count as $0, so cost budgets cannot stop them; add it under \`prices:\` in the settings file`,
        );
      }
      return 0;
    },
    isPriced: (provider, model) =>
      provider === "simulated" ||
      provider === "recorded" ||
      settings.prices[model] !== undefined ||
      (provider === "anthropic" ? anthropicPriceFor(model, NO_USAGE) : priceOf(provider, model)) !==
        undefined,
    priceOf: (provider, model) =>
      provider === "anthropic" && !settings.prices[model]
        ? anthropicPriceFor(model, NO_USAGE)
        : priceOf(provider, model),
  };
}

const NO_USAGE = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

/**
 * A provider whose adapter (and SDK) is imported on its first call. Its tier models are known
 * without it; a failed import is not kept, so the next call tries again.
 */
function lazyProvider(
  name: string,
  models: Partial<Record<Tier, string>>,
  defaults: Record<Tier, string>,
  load: () => Promise<Provider>,
): Provider {
  let pending: Promise<Provider> | undefined;
  return {
    name,
    modelFor: (tier) => models[tier] ?? defaults[tier],
    async complete(request) {
      pending ??= load().catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
      return (await pending).complete(request);
    },
  };
}

/**
 * The first provider of `chain`, handing a call to the next one when it stays unavailable after
 * its own retries (rate limits, outages). Any other failure (a bad key, bad output) is the
 * answer: trying elsewhere would hide it. The response names the provider and model that
 * answered, so cost and the status comment stay true. A model pinned by the phase belongs to the
 * first provider, so the others use their own model for the tier.
 */
export function withFallbacks(chain: Provider[]): Provider {
  const [first, ...rest] = chain;
  if (!first) throw new Error("withFallbacks needs at least one provider");
  return {
    name: first.name,
    modelFor: (tier) => first.modelFor(tier),
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const failures: string[] = [];
      for (const [index, provider] of chain.entries()) {
        const asked = index === 0 ? request : withoutPinnedModel(request);
        try {
          return await provider.complete(asked);
        } catch (error) {
          if (!(error instanceof ProviderError) || error.kind !== "unavailable" || index === rest.length) {
            if (failures.length > 0 && error instanceof ProviderError) {
              throw new ProviderError(
                `${failures.join("; ")}; then ${provider.name}: ${error.message}`,
                error.kind,
                // The answer that was billed (cut off, say) still counts toward the run's cost.
                { cause: error, ...(error.spent ? { spent: error.spent } : {}) },
              );
            }
            throw error;
          }
          failures.push(`${provider.name} unavailable (${error.message})`);
        }
      }
      throw new Error("unreachable: the last provider's error is thrown above");
    },
  };
}

function withoutPinnedModel(request: ModelRequest): ModelRequest {
  const { model: _pinned, ...rest } = request;
  return rest;
}
