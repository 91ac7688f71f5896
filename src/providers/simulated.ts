import { TIERS, type Tier } from "../pipeline/schema.js";
import {
  type CallPurpose,
  type ModelRequest,
  type ModelResponse,
  offlineResponse,
  type Provider,
} from "./provider.js";
import { writeCode } from "./simulated/write-code.js";
import { SIMULATED_MARK, unit, writeDocument } from "./simulated/write-document.js";

export { SIMULATED_MARK };

/**
 * The offline default. Deterministic for a given call, clearly marked, sized like a real answer,
 * and it reports token usage. It follows what the prompt asks (length, format, the files it names,
 * the repository's own language and test framework) from the prompt and the repository files it
 * carries, as a capable model would, and never from the pipeline's gates. Judges score stronger
 * tiers and later attempts higher, so runs show the same shape as real ones: an occasional retry on
 * a cheap tier, a pass after escalation.
 */
export function createSimulatedProvider(): Provider {
  return {
    name: "simulated",
    modelFor: (tier) => `simulated-${tier}`,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      request.signal?.throwIfAborted();
      return offlineResponse("simulated", request, answer(request));
    },
  };
}

function answer(request: ModelRequest): string {
  const purpose = request.purpose;
  if (purpose.kind === "judge") return judgeAnswer(purpose, request.tier);
  if (purpose.output === "files")
    return JSON.stringify(writeCode(purpose, request.prompt, request.context ?? ""), null, 2);
  return writeDocument(purpose, request.prompt);
}

function judgeAnswer(purpose: Extract<CallPurpose, { kind: "judge" }>, tier: Tier): string {
  const jitter = unit(`${purpose.phaseId}/${purpose.attempt}/${purpose.criterion}`) * 0.12;
  const score = Math.min(0.98, 0.7 + 0.08 * TIERS.indexOf(tier) + 0.05 * (purpose.attempt - 1) + jitter);
  const rounded = Math.round(score * 100) / 100;
  const reason =
    rounded >= 0.8
      ? `Meets "${purpose.criterion}" with specific, checkable detail (simulated judgement).`
      : `Partly meets "${purpose.criterion}": some points stay vague (simulated judgement).`;
  return JSON.stringify({ score: rounded, reason });
}
