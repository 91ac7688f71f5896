import type { JudgeCall } from "../judge/judge-gate.js";
import type { Tier } from "../pipeline/schema.js";
import { costOf } from "../providers/prices.js";
import { createProviderRegistry, KEY_VARIABLES, OPENAI_BASE_URL_VARIABLE } from "../providers/registry.js";
import { loadServerSettings } from "../providers/settings.js";
import type { Io } from "./commands.js";

/** The providers `--mutate` can grade with; the offline ones have nothing real to measure. */
export const MUTATE_PROVIDERS = ["anthropic", "gemini", "openai-compatible"] as const;

/** One judge call a dry pass counted. */
export interface CountedCall {
  tier: Tier;
  provider?: string;
  model?: string;
  inputTokens: number;
}

export interface RealJudge {
  judge: JudgeCall;
  /** What the calls will cost, to print before any is made. */
  describe: (calls: CountedCall[]) => string[];
  /** The first call that failed, if any: every grade after a bad key fails the same way. */
  failure: () => string | undefined;
}

/** A judge's answer is short: a score and a sentence or two. */
const ANSWER_TOKENS = 80;

/**
 * Judges for a mutation test graded by real models: the ones a run started with `provider`
 * would get (`judgeFor`: the gate's own provider, else another model family when its key is
 * set, else the same provider).
 */
export function realJudge(
  name: string,
  settingsFile: string | undefined,
  env: NodeJS.ProcessEnv,
  io: Io,
): RealJudge {
  if (!(MUTATE_PROVIDERS as readonly string[]).includes(name))
    throw new Error(`--provider ${name}: choose one of ${MUTATE_PROVIDERS.join(", ")}`);
  const settings = loadServerSettings(settingsFile);
  const registry = createProviderRegistry({ settings, env, warn: (message) => io.err(message) });
  if (!(registry.available() as string[]).includes(name)) {
    const needs =
      name === "openai-compatible"
        ? `${OPENAI_BASE_URL_VARIABLE} (or providers.openai-compatible.base_url in --settings)`
        : (KEY_VARIABLES[name] ?? []).join(" or ");
    throw new Error(`--provider ${name}: set ${needs} to grade with real models`);
  }
  const author = { name };
  let failure: string | undefined;
  const judge: JudgeCall = async (request, target) => {
    const provider = registry.judgeFor(author, target.provider);
    try {
      return await provider.complete({
        ...request,
        tier: target.tier,
        ...(target.model ? { model: target.model } : {}),
      });
    } catch (error) {
      failure ??= `${provider.name}: ${(error as Error).message}`;
      throw error;
    }
  };
  const describe = (calls: CountedCall[]): string[] => {
    const byModel = new Map<string, { calls: number; cost: number | undefined }>();
    for (const call of calls) {
      const provider = registry.judgeFor(author, call.provider);
      const model = call.model ?? provider.modelFor(call.tier);
      const price = registry.priceOf(provider.name, model);
      const usage = {
        inputTokens: call.inputTokens,
        outputTokens: ANSWER_TOKENS,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      };
      const key = `${provider.name}/${model}`;
      const seen = byModel.get(key) ?? { calls: 0, cost: 0 };
      seen.calls++;
      seen.cost = price && seen.cost !== undefined ? seen.cost + costOf(usage, price) : undefined;
      byModel.set(key, seen);
    }
    const parts = [...byModel].map(
      ([model, { calls: n, cost }]) =>
        `${n} to ${model} (${cost === undefined ? "no price known" : `about $${cost.toFixed(2)}`})`,
    );
    return [
      `judge: real models, as a run with --provider ${name} would use them; this spends tokens`,
      `  ${calls.length} judge call${calls.length === 1 ? "" : "s"} to make${parts.length ? `: ${parts.join(", ")}` : ""}`,
    ];
  };
  return { judge, describe, failure: () => failure };
}
