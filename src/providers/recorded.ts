import { z } from "zod";
import { type ConfigResult, readYamlConfig } from "../pipeline/parse-config.js";
import { formatProblem } from "../pipeline/problem.js";
import { MAX_RECORDED_BYTES } from "../pipeline/read-input.js";
import {
  type ModelRequest,
  type ModelResponse,
  offlineResponse,
  type Provider,
  ProviderError,
} from "./provider.js";

const Recorded = z.union([z.string(), z.record(z.string(), z.unknown())]);

/** One attempt of one phase: the agent's answer and each judge criterion's answer. */
const AttemptFixture = z.strictObject({
  agent: Recorded.optional(),
  judge: z.record(z.string(), Recorded).default({}),
});

/** Fixtures: phase id -> attempts in order (attempt 1 first). */
export const FixtureFileSchema = z.record(z.string(), z.array(AttemptFixture));
export type Fixtures = z.input<typeof FixtureFileSchema>;

/**
 * Replays recorded outputs. A call with no fixture fails loudly (fatal), so a test never passes
 * on an answer nobody wrote down.
 */
export function createRecordedProvider(fixtures: Fixtures, source = "fixtures"): Provider {
  return {
    name: "recorded",
    modelFor: (tier) => `recorded-${tier}`,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const { purpose } = request;
      const attempt = fixtures[purpose.phaseId]?.[purpose.attempt - 1];
      const value = purpose.kind === "agent" ? attempt?.agent : attempt?.judge?.[purpose.criterion];
      if (value === undefined) {
        const what =
          purpose.kind === "agent" ? "agent output" : `judge output for criterion "${purpose.criterion}"`;
        throw new ProviderError(
          `no recorded ${what} for phase "${purpose.phaseId}" attempt ${purpose.attempt} in ${source}`,
          "missing-fixture",
        );
      }
      return offlineResponse("recorded", request, typeof value === "string" ? value : JSON.stringify(value));
    },
  };
}

/**
 * Reads a fixture file (YAML or JSON) and validates its shape. Never throws: a missing, binary or
 * oversized file, bad YAML and a bad shape are problems located in the file.
 */
export function readFixtures(file: string): ConfigResult<Fixtures> {
  return readYamlConfig(file, FixtureFileSchema, MAX_RECORDED_BYTES);
}

/** {@link readFixtures} for callers that stop at a bad file: throws one error listing every problem. */
export function loadFixtures(file: string): Fixtures {
  const result = readFixtures(file);
  if (result.ok) return result.value;
  throw new Error(`invalid fixture file ${file}:\n${result.problems.map(formatProblem).join("\n")}`);
}
