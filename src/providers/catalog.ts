import type { Usage } from "../engine/types.js";
import type { Tier } from "../pipeline/schema.js";
import type { Price } from "./prices.js";

// The models and prices of the real providers, kept apart from the adapters so choosing a model
// or pricing a call does not load an SDK (the CLI starts faster on a small machine).

/**
 * Current models as of 2026-11-23 (https://platform.claude.com/docs/en/models/overview and each
 * model's overview page). These ids carry no date: Haiku 5.5 has no separate alias, and the Sonnet
 * and Opus 5.5 ids are the ones the docs and the SDK's `Model` type list first.
 */
export const ANTHROPIC_DEFAULT_MODELS: Record<Tier, string> = {
  fast: "claude-haiku-5-5",
  balanced: "claude-sonnet-5-5",
  deep: "claude-opus-5-5",
};

/**
 * USD per million tokens; cache write is the 5-minute write (the adapter asks for no 1-hour
 * cache). Read 2026-11-23 from https://platform.claude.com/docs/en/about-claude/pricing and the
 * model pages https://platform.claude.com/docs/en/models/{haiku-5-5,sonnet-5-5,opus-5-5,opus-5,sonnet-5}/overview.
 * Cache reads are not 0.1x input on every model: Opus 5.5 reads at 0.05x ($0.20, model page).
 * Sonnet 5.5 reads at $0.10 (0.05x) since 2026-10-07: the model page as stored still showed
 * $0.20, the figure is from the price cut reported against the pricing page; confirm it there.
 * Haiku 5.5's cache read ($0.01) is from guides quoting the model page, whose stored copy was cut
 * before that line. Haiku 5.5 has a long-prompt band: see {@link ANTHROPIC_LONG_PROMPT_PRICES}.
 */
export const ANTHROPIC_PRICES: Record<string, Price> = {
  "claude-haiku-5-5": { input: 0.1, output: 0.5, cacheRead: 0.01, cacheWrite: 0.125 },
  "claude-sonnet-5-5": { input: 2, output: 10, cacheRead: 0.1, cacheWrite: 2.5 },
  "claude-opus-5-5": { input: 4, output: 20, cacheRead: 0.2, cacheWrite: 5 },
  "claude-sonnet-5": { input: 2, output: 10, cacheRead: 0.2, cacheWrite: 2.5 },
  "claude-opus-5": { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
};

/**
 * Haiku 5.5 bills a request whose prompt (input + cache read + cache write) is over 100,000
 * tokens at five times the rates, output included (same sources as {@link ANTHROPIC_PRICES}).
 */
export const ANTHROPIC_LONG_PROMPT_PRICES: Record<string, { overTokens: number; price: Price }> = {
  "claude-haiku-5-5": {
    overTokens: 100_000,
    price: { input: 0.5, output: 2.5, cacheRead: 0.05, cacheWrite: 0.625 },
  },
};

/** The price of one call, with Haiku's long-prompt band; undefined for a model not in the table. */
export function anthropicPriceFor(model: string, usage: Usage): Price | undefined {
  const long = ANTHROPIC_LONG_PROMPT_PRICES[model];
  const prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  if (long && prompt > long.overTokens) return long.price;
  return ANTHROPIC_PRICES[model];
}

/**
 * Ids from https://ai.google.dev/gemini-api/docs/models, /deprecations and /changelog (read
 * 2026-11-23; the newest copy found was the 2026-10-08 changelog entry).
 * No Gemini 3 Pro is stable yet: `gemini-3.1-pro-preview` is the only Pro the API serves since
 * gemini-2.5-pro was shut down, so deep runs on a preview model until a stable Pro ships.
 * Ids are pinned rather than `gemini-*-latest` aliases, which Google repoints (to previews too)
 * and which would make the prices below wrong without notice.
 */
export const GEMINI_DEFAULT_MODELS: Record<Tier, string> = {
  fast: "gemini-3.5-flash-lite",
  balanced: "gemini-3.8-flash",
  deep: "gemini-3.1-pro-preview",
};

/**
 * Paid tier, Standard (not Batch/Flex), text input, USD per million tokens, from
 * https://ai.google.dev/gemini-api/docs/pricing (read 2026-11-23 through copies of that page taken
 * 2026-09-20 and 2026-10-07, cross-checked with models.dev's entries that cite it). Caching is implicit: cached reads have their own price and
 * there is no write charge (storage is billed only for explicit caches, which we do not create).
 * - gemini-3.8-flash: introductory price through 2026-12-31; from 2027-01-01 it is 1.50 / 7.50 /
 *   0.15. Update this entry then.
 * - gemini-3.1-pro-preview: prompts up to 200k tokens; above that 4.00 / 18.00 / 0.40.
 * - gemini-3.5-flash-lite: the cached-input figure (0.03) could not be read on Google's page
 *   itself; it is the usual one-tenth of input and matches a third-party copy of the page.
 */
export const GEMINI_PRICES: Record<string, Price> = {
  "gemini-3.5-flash-lite": { input: 0.3, output: 2.5, cacheRead: 0.03, cacheWrite: 0 },
  "gemini-3.8-flash": { input: 0.75, output: 3.75, cacheRead: 0.075, cacheWrite: 0 },
  "gemini-3.1-pro-preview": { input: 2, output: 12, cacheRead: 0.2, cacheWrite: 0 },
};

/**
 * Local model names depend on what the server has pulled, so these are only a guess: a repository
 * (`tiers.<tier>`) or the server config should set them. Small, common Ollama tags that exist in
 * its library (qwen2.5-coder comes in 0.5b to 32b); the 1.5b one is small enough for a Pi-class board.
 */
export const OPENAI_COMPATIBLE_DEFAULT_MODELS: Record<Tier, string> = {
  fast: "qwen2.5-coder:1.5b",
  balanced: "qwen2.5-coder:7b",
  deep: "qwen2.5-coder:14b",
};

/**
 * Empty on purpose: model ids depend on the server. A local model costs nothing per token
 * ({@link OPENAI_COMPATIBLE_LOCAL_PRICE}); a hosted endpoint's prices (vLLM in the cloud,
 * OpenRouter, ...) go in configuration, keyed by model id, in USD per million tokens.
 */
export const OPENAI_COMPATIBLE_PRICES: Record<string, Price> = {};

/** What a model on a server on this machine (a loopback base URL) costs when the settings give no price. */
export const OPENAI_COMPATIBLE_LOCAL_PRICE: Price = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
