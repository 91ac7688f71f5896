/**
 * A whole coding-pipeline run, offline on the simulated provider, on a real git repository and
 * SQLite file: wall time per run and per phase, and the process's peak memory. This is the
 * engine's own overhead (git, SQLite, templates, judging), the floor under any real model's time.
 *   npm run bench
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSampleRepository } from "../src/local/demo.js";
import { readIssueFile } from "../src/local/issue-file.js";
import { createLocalApp } from "../src/local/local-app.js";
import { approveRun, requireRun, startRun } from "../src/local/run-commands.js";
import { loadPipelineFile } from "../src/pipeline/load-pipeline.js";
import { createSimulatedProvider } from "../src/providers/simulated.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const rssAtStart = process.memoryUsage().rss;
const dir = mkdtempSync(join(tmpdir(), "atomic-scrum-bench-"));
const { repo, issues } = createSampleRepository(dir);
const loaded = loadPipelineFile("pipelines/coding.yml");
if (!loaded.ok) throw new Error("pipelines/coding.yml does not load");
const simulated = createSimulatedProvider();
const app = createLocalApp({ repoDir: repo, providerFor: () => simulated });
const phases = loaded.pipeline.phases.filter((p) => p.kind === "agent").length;
const base = readIssueFile(issues.coding);

const times: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const started = performance.now();
  const run = startRun(app, {
    pipeline: loaded.pipeline,
    hash: loaded.hash,
    pipelinePath: "coding",
    issue: { ...base, number: 100 + i },
  });
  await app.worker.runUntilIdle();
  approveRun(app, requireRun(app, run.id), "bench");
  await app.worker.runUntilIdle();
  if (requireRun(app, run.id).state.status !== "succeeded") throw new Error(`run ${run.id} did not succeed`);
  times.push(performance.now() - started);
}
app.close();
rmSync(dir, { recursive: true, force: true });

times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? 0;
console.log(`coding pipeline, simulated provider: ${RUNS} runs of ${phases} agent phases`);
console.log(`  median run   ${median.toFixed(0)} ms (${(median / phases).toFixed(0)} ms per phase)`);
console.log(`  fastest      ${times[0]?.toFixed(0)} ms, slowest ${times.at(-1)?.toFixed(0)} ms`);
// vite-node's TypeScript transformer is loaded before the first line runs, so the figure that
// belongs to the engine is the growth over the starting size.
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
console.log(
  `  peak RSS     ${mib(process.resourceUsage().maxRSS * 1024)} (at start ${mib(rssAtStart)}, under vite-node)`,
);
