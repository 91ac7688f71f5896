import { z } from "zod";
import type { BreakerSettings } from "../engine/breaker.js";
import { EditsSchema } from "../forge/edit-policy.js";
import { parseDuration } from "../pipeline/duration.js";
import { jsonSchemaText } from "../pipeline/json-schema.js";
import { readYamlConfig } from "../pipeline/parse-config.js";
import { formatProblem, type Problem } from "../pipeline/problem.js";
import { DurationSchema } from "../pipeline/schema.js";

/** Every provider a run can name. Which of them can run depends on the keys this machine has. */
export const PROVIDER_NAMES = ["simulated", "recorded", "anthropic", "gemini", "openai-compatible"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Providers that call a model API; only these can stand in for one another. */
export const REAL_PROVIDERS = ["anthropic", "gemini", "openai-compatible"] as const;

/** Tier -> model name; unset tiers keep the provider's defaults. */
export const TierModelsSchema = z.strictObject({
  fast: z.string().min(1).optional().describe("Model for the fast tier."),
  balanced: z.string().min(1).optional().describe("Model for the balanced tier."),
  deep: z.string().min(1).optional().describe("Model for the deep tier."),
});

const perMillion = z.number().min(0, "a price cannot be negative");

const PriceSchema = z
  .strictObject({
    input: perMillion.describe("USD per million input tokens."),
    output: perMillion.describe("USD per million output tokens."),
    cache_read: perMillion.optional().describe("USD per million cached input tokens read (default: input)."),
    cache_write: perMillion
      .optional()
      .describe("USD per million input tokens written to the cache (default: input)."),
  })
  .describe("What a model costs, in USD per million tokens.");

const ProviderSettingsSchema = z.strictObject({
  models: TierModelsSchema.optional().describe("Tier -> model for this provider on this server."),
  fallback: z
    .enum(REAL_PROVIDERS)
    .optional()
    .describe("Provider to use when this one stays unavailable after its retries."),
  timeout: DurationSchema.optional().describe("Most a whole call may take, retries included (default 10m)."),
  max_retries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .optional()
    .describe("Retries of a rate-limited or failed call (default 3)."),
  base_url: z
    .url()
    .optional()
    .describe("API base URL: required for openai-compatible; a proxy for the others."),
});
export type ProviderSettings = z.infer<typeof ProviderSettingsSchema>;

/**
 * Settings of one Atomic Scrum server or machine (never of a repository, and never secrets: API
 * keys come from the environment). The one definition; `docs/providers.md` follows it.
 */
export const ServerSettingsSchema = z
  .strictObject({
    $schema: z.string().optional().describe("Editor hint; ignored."),
    providers: z
      .strictObject({
        anthropic: ProviderSettingsSchema.optional(),
        gemini: ProviderSettingsSchema.optional(),
        "openai-compatible": ProviderSettingsSchema.optional(),
      })
      .default({})
      .describe("Per-provider settings."),
    prices: z
      .record(z.string().min(1), PriceSchema)
      .default({})
      .describe("Model -> price; adds to and overrides the built-in price table."),
    breaker: z
      .strictObject({
        threshold: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe("Failures in the window that open a breaker (default 3)."),
        window: DurationSchema.optional().describe("How far back failures count (default 1h)."),
        cooloff: DurationSchema.optional().describe(
          "How long a breaker stays open before one trial (default 15m).",
        ),
      })
      .default({})
      .describe("The circuit breaker per (provider, model, task type, tier)."),
    budget: z
      .strictObject({
        daily_max_cost_usd: z
          .number()
          .positive("must be more than 0")
          .optional()
          .describe(
            "Most all runs may spend per UTC day: per installation (GitHub) or per database (local).",
          ),
      })
      .default({})
      .describe("Spending limits above any repository or pipeline."),
    edits: EditsSchema.prefault({}).describe(
      "What local runs (atomic-scrum run) may write: sensitive areas allowed and caps per commit. The GitHub App reads edits: from each repository's .github/atomic-scrum.yml instead.",
    ),
  })
  .superRefine((settings, ctx) => {
    for (const [name, provider] of Object.entries(settings.providers)) {
      const seen = new Set([name]);
      for (let next = provider?.fallback; next !== undefined; ) {
        if (seen.has(next)) {
          ctx.addIssue({
            code: "custom",
            path: ["providers", name, "fallback"],
            message: `fallbacks go round in a circle (${[...seen, next].join(" -> ")})`,
          });
          break;
        }
        seen.add(next);
        next = (settings.providers as Record<string, ProviderSettings | undefined>)[next]?.fallback;
      }
    }
  });
export type ServerSettings = z.infer<typeof ServerSettingsSchema>;

/** The settings when no file is given: built-in defaults everywhere. */
export function defaultServerSettings(): ServerSettings {
  return ServerSettingsSchema.parse({});
}

/**
 * Reads and validates a settings file. A bad file (missing, a directory, not text, bad YAML or a
 * bad field) throws one {@link SettingsError} with every problem, located: `file:line:col: ...`.
 */
export function loadServerSettings(file: string | undefined): ServerSettings {
  if (file === undefined || file === "") return defaultServerSettings();
  const result = readYamlConfig(file, ServerSettingsSchema);
  if (result.ok) return result.value;
  throw new SettingsError(file, result.problems);
}

/** A settings file that cannot be used; its message lists each problem on a line of its own. */
export class SettingsError extends Error {
  override name = "SettingsError";
  constructor(
    readonly file: string,
    readonly problems: Problem[],
  ) {
    super(`the settings file ${file} has problems:\n${problems.map(formatProblem).join("\n")}`);
  }
}

/** Milliseconds of an optional duration setting. */
export function durationMs(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

/** The JSON Schema of the settings file, for editors (`schema/settings.schema.json`). */
export function serverSettingsJsonSchemaText(): string {
  return jsonSchemaText(ServerSettingsSchema, {
    file: "settings.schema.json",
    title: "Atomic Scrum server settings",
  });
}

/** The breaker settings a settings file gives (unset ones keep the defaults). */
export function breakerSettingsFrom(settings: ServerSettings): Partial<BreakerSettings> {
  const { threshold, window, cooloff } = settings.breaker;
  return {
    ...(threshold === undefined ? {} : { threshold }),
    ...(window === undefined ? {} : { windowMs: parseDuration(window) }),
    ...(cooloff === undefined ? {} : { cooloffMs: parseDuration(cooloff) }),
  };
}
