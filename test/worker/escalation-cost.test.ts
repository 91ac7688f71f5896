import { describe, expect, it } from "vitest";
import type { AttemptOutput, RunEvent } from "../../src/engine/types.js";
import { costOf, type Price } from "../../src/providers/prices.js";
import { type Provider, ProviderError } from "../../src/providers/provider.js";
import { createRecordedProvider, type Fixtures } from "../../src/providers/recorded.js";
import { createProviderRegistry } from "../../src/providers/registry.js";
import { ServerSettingsSchema } from "../../src/providers/settings.js";
import { getRun, listAttempts, listEvents } from "../../src/store/runs.js";
import { counting, ISSUE, manualClock, openApp, start } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

/** Prices per tier model of the recorded provider, as a settings file would give them. */
const PRICES: Record<string, Price> = {
  "recorded-fast": { input: 1, output: 5, cacheRead: 1, cacheWrite: 1 },
  "recorded-balanced": { input: 3, output: 15, cacheRead: 3, cacheWrite: 3 },
  "recorded-deep": { input: 5, output: 25, cacheRead: 5, cacheWrite: 5 },
};

const settings = ServerSettingsSchema.parse({
  prices: Object.fromEntries(
    Object.entries(PRICES).map(([model, p]) => [model, { input: p.input, output: p.output }]),
  ),
});
const registry = createProviderRegistry({ settings, env: {} });

const PIPELINE = (budget = "") => `
name: escalating
${budget}
phases:
  - id: write
    task: write
    tier: fast
    prompt: "Write the note {{ issue.title }} asks for."
    on_fail: { retries: 1, escalate: true }
    gates:
      - judge:
          threshold: 0.7
          tier: fast
          criteria:
            - { name: exact, weight: 1, rubric: "Names the function that trims the input." }
`;

const grade = (score: number) => ({ score, reason: `graded ${score}` });

/** The fast tier fails its gate twice; the balanced tier passes. */
const FIXTURES: Fixtures = {
  write: [
    { agent: "A vague note about spaces.", judge: { exact: grade(0.2) } },
    { agent: "Another vague note.", judge: { exact: grade(0.4) } },
    { agent: "The trim() call in parse.ts removes the spaces.", judge: { exact: grade(0.9) } },
  ],
};

async function runEscalating(budget = "") {
  const provider = counting(createRecordedProvider(FIXTURES));
  const app = openApp(tempRepo(), { provider, price: registry.price, now: manualClock().now });
  const run = start(app, PIPELINE(budget), ISSUE);
  await app.worker.runUntilIdle();
  const result = {
    run: getRun(app.db, run.id),
    attempts: listAttempts(app.db, run.id),
    events: listEvents(app.db, run.id).map((e) => ({ type: e.type, ...(e.data as object) }) as RunEvent),
    calls: provider.calls,
  };
  app.close();
  return result;
}

describe("escalation and cost", () => {
  it("the fast tier fails its gate twice, the balanced tier passes: attempts, tiers, reasons and costs are in the event log", async () => {
    const { run, attempts, events } = await runEscalating();
    expect(run?.state.status).toBe("succeeded");
    expect(attempts.map((a) => [a.attempt, a.tier, a.model, a.state])).toEqual([
      [1, "fast", "recorded-fast", "failed"],
      [2, "fast", "recorded-fast", "failed"],
      [3, "balanced", "recorded-balanced", "passed"],
    ]);
    const verdicts = events.flatMap((e) => (e.type === "gates.evaluated" ? [e.verdict.pass] : []));
    expect(verdicts).toEqual([false, false, true]);
    const escalated = events.filter((e) => (e as { type: string }).type === "phase.escalated");
    expect(escalated).toEqual([
      expect.objectContaining({ phaseId: "write", from: "fast", to: "balanced", attempt: 3 }),
    ]);
    expect((escalated[0] as unknown as { reason: string }).reason).toBe(
      "2 attempt(s) at fast failed: score 0.40 against threshold 0.7; exact: graded 0.4",
    );
    // Every agent answer and every evaluation carries its cost in the log.
    const completed = events.flatMap((e) =>
      e.type === "agent.completed" ? [e.output as AttemptOutput] : [],
    );
    expect(completed.map((o) => [o.tier, o.model])).toEqual([
      ["fast", "recorded-fast"],
      ["fast", "recorded-fast"],
      ["balanced", "recorded-balanced"],
    ]);
    for (const output of completed) {
      const price = PRICES[output.model];
      if (!price) throw new Error(`no price for ${output.model}`);
      expect(output.costUsd).toBeCloseTo(costOf(output.usage, price), 12);
      expect(output.costUsd).toBeGreaterThan(0);
    }
  });

  it("the run's cost total is the sum of every recorded usage times the price table", async () => {
    const { run, events } = await runEscalating();
    let expected = 0;
    let tokens = 0;
    for (const event of events) {
      if (event.type === "agent.completed") {
        expected += costOf(event.output.usage, PRICES[event.output.model] as Price);
        tokens += event.output.usage.inputTokens + event.output.usage.outputTokens;
      }
      if (event.type === "gates.evaluated") {
        // Judges ran on the fast tier.
        expected += costOf(event.usage, PRICES["recorded-fast"] as Price);
        tokens += event.usage.inputTokens + event.usage.outputTokens;
      }
    }
    expect(expected).toBeGreaterThan(0);
    expect(run?.state.totals.costUsd).toBeCloseTo(expected, 12);
    expect(run?.state.totals.tokens).toBe(tokens);
  });

  it("a run over its cost budget stops before the call that would exceed it, with the reason", async () => {
    const full = await runEscalating();
    const firstAttemptCost = full.attempts[0]?.costUsd ?? 0;
    expect(firstAttemptCost).toBeGreaterThan(0);
    // Room for the first attempt and its grade, not for a second call of the same size.
    const limit = firstAttemptCost * 1.2;
    const { run, calls, attempts } = await runEscalating(`budget: { max_cost_usd: ${limit} }`);
    expect(run?.state.status).toBe("failed");
    expect(run?.state.reason).toMatch(
      /budget: this call costs about \$\d+\.\d{4} and \$\d+\.\d{4} of \$\d+\.\d{4} are spent; raise budget\.max_cost_usd/,
    );
    // One agent call and its grade were made; the second agent call never was.
    expect(calls).toEqual({ agent: 1, judge: 1 });
    expect(run?.state.totals.costUsd).toBeLessThanOrEqual(limit);
    expect(attempts).toHaveLength(2);
  });

  it("an answer that was billed but unusable still counts toward the run's cost", async () => {
    const inner = createRecordedProvider(FIXTURES);
    const spent = { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0 };
    let first = true;
    const provider: Provider = {
      name: inner.name,
      modelFor: inner.modelFor,
      complete: async (request) => {
        if (request.purpose.kind === "agent" && first) {
          first = false;
          throw new ProviderError("recorded-fast was cut off at the output limit", "bad-output", {
            spent: { provider: "recorded", model: "recorded-fast", usage: spent },
          });
        }
        return inner.complete(request);
      },
    };
    const app = openApp(tempRepo(), { provider, price: registry.price, now: manualClock().now });
    const run = start(app, PIPELINE(), ISSUE);
    await app.worker.runUntilIdle();
    const events = listEvents(app.db, run.id).map(
      (e) => ({ type: e.type, ...(e.data as object) }) as RunEvent,
    );
    const attempts = listAttempts(app.db, run.id);
    app.close();
    const failed = events.find((e) => e.type === "agent.failed");
    const expected = costOf(spent, PRICES["recorded-fast"] as Price);
    expect(failed).toMatchObject({ kind: "bad-output", usage: spent });
    expect((failed as { costUsd?: number }).costUsd).toBeCloseTo(expected, 12);
    // The attempt row, which daily budgets sum, has it too.
    expect(attempts[0]).toMatchObject({ state: "error", tokensIn: 1000, tokensOut: 100 });
    expect(attempts[0]?.costUsd).toBeCloseTo(expected, 12);
  });

  it("a run with a cost limit refuses a call it cannot price, instead of counting it as $0", async () => {
    const provider = counting(createRecordedProvider(FIXTURES));
    const app = openApp(tempRepo(), {
      provider,
      price: registry.price,
      isPriced: (_provider, model) => model !== "recorded-fast",
      now: manualClock().now,
    });
    const run = start(app, PIPELINE("budget: { max_cost_usd: 5 }"), ISSUE);
    await app.worker.runUntilIdle();
    const state = getRun(app.db, run.id)?.state;
    app.close();
    expect(state?.status).toBe("failed");
    expect(state?.reason).toContain(
      "budget: no price for recorded/recorded-fast, so the pipeline's budget.max_cost_usd cannot be checked; add it under `prices:` in the settings file",
    );
    expect(provider.calls).toEqual({ agent: 0, judge: 0 });
  });

  it("a judge that stays unavailable is not a verdict: the evaluation is tried again later and the run goes on", async () => {
    const inner = createRecordedProvider(FIXTURES);
    let outages = 1;
    const provider: Provider = {
      name: inner.name,
      modelFor: inner.modelFor,
      complete: async (request) => {
        if (request.purpose.kind === "judge" && outages > 0) {
          outages--;
          throw new ProviderError("recorded-fast overloaded (529) after 3 retries", "unavailable");
        }
        return inner.complete(request);
      },
    };
    const clock = manualClock();
    const app = openApp(tempRepo(), { provider, price: registry.price, now: clock.now });
    const run = start(app, PIPELINE(), ISSUE);
    await app.worker.runUntilIdle();
    expect(getRun(app.db, run.id)?.state.status).toBe("running");
    clock.advance(60_000);
    await app.worker.runUntilIdle();
    const events = listEvents(app.db, run.id).map((e) => e.type);
    const state = getRun(app.db, run.id)?.state;
    app.close();
    expect(events).toContain("job.failed");
    // The grades went on as if the outage had not happened: three attempts, the last one passing.
    expect(state?.status).toBe("succeeded");
    expect(events.filter((type) => type === "gates.evaluated")).toHaveLength(3);
  });
});
