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
  /** A model pinned by the phase (`model:`): used instead of the tier's model. */
  model?: string;
  /** Stable instructions (cacheable prefix). */
  system: string;
  /**
   * Repository context (files read for the phase), the same across a phase's attempts: sent after
   * `system` and before `prompt`, so adapters with prompt caching can cache system + context.
   */
  context?: string;
  prompt: string;
  /**
   * The answer must be a single JSON object. With `jsonSchema` (a JSON Schema, draft 7, made from
   * a zod schema), adapters whose API can constrain output to a schema pass it on; the caller
   * validates the answer with the zod schema either way.
   */
  json?: boolean;
  jsonSchema?: Record<string, unknown>;
  maxOutputTokens?: number;
  /** Cancels the call (the job lost its lease, the process is stopping). */
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
  /** The model a tier maps to (the pinned `request.model` wins over it in `complete`). */
  modelFor(tier: Tier): string;
  complete(request: ModelRequest): Promise<ModelResponse>;
}

/**
 * Why a call failed, which decides what happens next:
 * - `config`: bad or missing key, no access, unknown model (401, 403, 404). Fatal: the phase ends
 *   at once with a message naming the setting to fix, and the circuit breaker does not count it.
 * - `unavailable`: rate limited, overloaded, 5xx or timed out after the adapter's own retries.
 *   A failed attempt (retry, then escalate); the breaker counts it; a fallback provider may take over.
 * - `bad-output`: the model answered, but empty, cut off or not the JSON asked for. A failed attempt.
 * - `budget`: the call would go over a budget. Fatal, and nothing was spent.
 * - `missing-fixture`: the recorded provider has no answer for this call. Fatal.
 * - `cancelled`: the signal fired. The job is given up, not the phase.
 */
export type ProviderErrorKind =
  | "config"
  | "unavailable"
  | "bad-output"
  | "budget"
  | "missing-fixture"
  | "cancelled";

const FATAL_KINDS: ReadonlySet<ProviderErrorKind> = new Set(["config", "budget", "missing-fixture"]);

/** A call that failed, with the {@link ProviderErrorKind} that says what happens next. */
export class ProviderError extends Error {
  override name = "ProviderError";
  /** A call that was answered (and billed) but whose answer is unusable: what it cost. */
  readonly spent?: Pick<ModelResponse, "provider" | "model" | "usage">;
  constructor(
    message: string,
    readonly kind: ProviderErrorKind,
    options?: { cause?: unknown; spent?: Pick<ModelResponse, "provider" | "model" | "usage"> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.spent) this.spent = options.spent;
  }

  /** Ends the phase at once instead of counting as a failed attempt. */
  get fatal(): boolean {
    return FATAL_KINDS.has(this.kind);
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
    // A pinned model is reported as the one that answered, as a real API would.
    model: request.model ?? `${provider}-${request.tier}`,
    simulated: true,
    usage: {
      inputTokens:
        estimateTokens(request.system) +
        estimateTokens(request.context ?? "") +
        estimateTokens(request.prompt),
      outputTokens: estimateTokens(text),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    },
  };
}
