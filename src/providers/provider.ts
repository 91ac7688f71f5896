import type { Usage } from "../engine/types.js";
import type { Task, Tier } from "../pipeline/schema.js";

/**
 * What a call is for. Real model APIs ignore it; the simulated provider shapes its answer with
 * it and the recorded provider looks its fixture up by it.
 */
export type CallPurpose =
  | {
      kind: "agent";
      phaseId: string;
      phaseName: string;
      task: Task;
      attempt: number;
      output: "artifact" | "files";
      issue: { number: number; title: string };
    }
  | { kind: "judge"; phaseId: string; attempt: number; criterion: string };

export interface ModelRequest {
  purpose: CallPurpose;
  tier: Tier;
  /** Stable instructions (cacheable prefix). */
  system: string;
  prompt: string;
  /** The answer must be a single JSON object. */
  json?: boolean;
  maxOutputTokens?: number;
  signal?: AbortSignal;
}

export interface ModelResponse {
  text: string;
  provider: string;
  model: string;
  usage: Usage;
  /** True when no real model produced the text. */
  simulated: boolean;
}

/** One model API behind tiers. Adapters for real APIs come behind this same interface. */
export interface Provider {
  readonly name: string;
  modelFor(tier: Tier): string;
  complete(request: ModelRequest): Promise<ModelResponse>;
}

/**
 * A call that failed. `fatal` errors (a missing fixture, bad credentials) end the phase at once;
 * others count as a failed attempt and go through retry and escalation.
 */
export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

/** About four characters a token for English text and code: close enough for offline figures. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * The response of a provider that calls no model (simulated, recorded): usage is estimated from
 * the text, so offline runs report tokens the way real ones do.
 */
export function offlineResponse(provider: string, request: ModelRequest, text: string): ModelResponse {
  return {
    text,
    provider,
    model: `${provider}-${request.tier}`,
    simulated: true,
    usage: {
      inputTokens: estimateTokens(request.system) + estimateTokens(request.prompt),
      outputTokens: estimateTokens(text),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    },
  };
}
