// Scenario tests: a scenario file states an issue, a starting repository, recorded model answers
// and what the run must do; `atomic-scrum test` runs it offline and compares. The parts live in
// ./scenarios/: schema (the file format), paths (where scenario files are), load and check (the
// `extends` chain, checked against the pipeline), run with repository, recording-provider and
// observe (one offline run on a simulated clock, and the attempts it made), compare (expected
// against observed) and phases (agent phases and gate labels, shared with `--mutate`).

export { compareScenario, describeRun } from "./scenarios/compare.js";
export { loadScenario } from "./scenarios/load.js";
export type { Observation, ObservedAttempt } from "./scenarios/observe.js";
export { defaultScenarioDir, displayPath, listScenarioFiles } from "./scenarios/paths.js";
export { agentPhases, gateLabels } from "./scenarios/phases.js";
export { type PipelineTarget, runScenario } from "./scenarios/run.js";
export type {
  AttemptExpectation,
  GateOutcome,
  Outcome,
  PhaseExpectation,
  Scenario,
  ScenarioLoad,
} from "./scenarios/schema.js";
