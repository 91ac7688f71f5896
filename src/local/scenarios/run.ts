import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResolvedPipeline } from "../../pipeline/resolved.js";
import type { RunRecord } from "../../store/runs.js";
import { createLocalApp, type LocalApp } from "../local-app.js";
import { approveRun, requireRun, startRun } from "../run-commands.js";
import { createObserver, type Observation } from "./observe.js";
import { displayPath } from "./paths.js";
import { recordingProvider } from "./recording-provider.js";
import { createRepository } from "./repository.js";
import type { Scenario } from "./schema.js";

/** The target of a scenario: a loaded pipeline, pinned as a run would pin it. */
export interface PipelineTarget {
  pipeline: ResolvedPipeline;
  hash: string;
  file: string;
}

/** More rounds than any pipeline needs; a run still moving after them is stuck in a loop. */
const MAX_ROUNDS = 1000;
/** Simulated time starts here, so every run of a scenario sees the same clock. */
const EPOCH = Date.UTC(2026, 0, 5, 9);

/**
 * Runs one scenario offline: a fresh git repository and database in a temp folder (removed
 * afterwards), the recorded provider replaying the cassettes, and a simulated clock that jumps to
 * the next due job, so cooldowns and backoffs take no real time.
 */
export async function runScenario(scenario: Scenario, target: PipelineTarget): Promise<Observation> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "atomic-scrum-scenario-"));
  try {
    const repo = createRepository(join(dir, "repo"), scenario.files);
    const clock = { now: EPOCH };
    const recorder = recordingProvider(scenario.cassettes, displayPath(scenario.file));
    const observer = createObserver();
    const app = createLocalApp({
      repoDir: repo,
      providerFor: () => recorder.provider,
      now: () => clock.now,
      onProgress: observer.onProgress,
      owner: "atomic-scrum-test",
    });
    try {
      const run = startRun(app, {
        pipeline: target.pipeline,
        hash: target.hash,
        pipelinePath: target.file,
        issue: scenario.issue,
        provider: { name: "recorded", fixtures: scenario.file },
      });
      const final = await drive(app, run.id, clock, scenario.approve);
      const phases = observer.phases;
      return {
        status: final.state.status,
        ...(final.state.reason ? { reason: final.state.reason } : {}),
        phases,
        escalated: new Set(
          Object.entries(final.state.tierChanges ?? {})
            .filter(([, changes]) => changes.some((change) => change.cause === "escalation"))
            .map(([id]) => id),
        ),
        unused: recorder.unused(scenario.cassettes, phases),
        ms: performance.now() - started,
      };
    } finally {
      app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Works the run until it ends or waits for a person, approving reviews the scenario approves. */
async function drive(
  app: LocalApp,
  runId: string,
  clock: { now: number },
  approve: Scenario["approve"],
): Promise<RunRecord> {
  const approved = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { nextRunAt } = await app.worker.runUntilIdle({ group: runId });
    const run = requireRun(app, runId);
    const { status, phaseIndex } = run.state;
    if (status === "awaiting_approval" && approve !== false && !approved.has(phaseIndex)) {
      approved.add(phaseIndex);
      for (const by of reviewers(run, approve)) approveRun(app, requireRun(app, runId), by);
      continue;
    }
    if ((status === "running" || status === "waiting") && nextRunAt !== undefined) {
      clock.now = Math.max(clock.now, nextRunAt);
      continue;
    }
    return run;
  }
  throw new Error(`the run was still moving after ${MAX_ROUNDS} rounds of work`);
}

/** `approve: true` sends as many reviewers as the phase needs; a list sends exactly those. */
function reviewers(run: RunRecord, approve: true | string[]): string[] {
  if (approve !== true) return approve;
  const phase = run.pipeline.phases[run.state.phaseIndex];
  const needed = phase?.kind === "approval" ? phase.minApprovals : 1;
  return Array.from({ length: needed }, (_, i) => (i === 0 ? "reviewer" : `reviewer-${i + 1}`));
}
