import { describe, expect, it } from "vitest";
import { findRubricLeak } from "../../src/engine/holdout.js";
import type { Fixtures } from "../../src/providers/recorded.js";
import { getRun, listAttempts } from "../../src/store/runs.js";
import { ISSUE, loadPipeline, openApp, recording, start } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

const RUBRIC = "Names the exact function that trims and says which inputs it refuses.";

function pipeline(prompt = "Write about {{ issue.title }}"): string {
  return `
name: judged
phases:
  - id: write
    task: write
    prompt: "${prompt}"
    on_fail: { retries: 1, escalate: false }
    gates:
      - judge:
          threshold: 0.8
          tier: fast
          criteria:
            - { name: secret-criterion, weight: 1, rubric: '${RUBRIC}' }
`;
}

async function runWith(text: string, fixtures: Fixtures) {
  const provider = recording(fixtures);
  const app = openApp(tempRepo(), { provider });
  const run = start(app, text, ISSUE);
  await app.worker.runUntilIdle();
  const result = {
    state: getRun(app.db, run.id)?.state,
    attempts: listAttempts(app.db, run.id),
    agentPrompts: provider.requests.filter((r) => r.purpose.kind === "agent").map((r) => r.prompt),
  };
  app.close();
  return result;
}

/** "trims and says which inputs it refuses", seven words of the rubric, disguised. */
const DISGUISED: [string, string][] = [
  ["zero-width spaces", "tri\u200bms an\u200bd say\u200bs wh\u200bich in\u200bputs it ref\u200buses"],
  [
    "soft hyphens and word joiners",
    "tr\u00adims a\u2060nd sa\u00adys whi\u2060ch inp\u00aduts i\u2060t re\u2060fuses",
  ],
  ["Cyrillic letters", "trim\u0455 \u0430nd s\u0430ys which in\u0440uts it r\u0435fus\u0435s"],
  ["fullwidth letters", "ｔｒｉｍｓ ａｎｄ ｓａｙｓ ｗｈｉｃｈ ｉｎｐｕｔｓ ｉｔ ｒｅｆｕｓｅｓ"],
  ["Greek capitals", "TRIMS \u0391ND SAYS WH\u0399CH INPUTS \u0399\u03a4 REFUSES"],
];

describe("worker > holdout", () => {
  it.each(DISGUISED)(
    "a judge quoting its rubric in disguise (%s) is cut from the retry, and the run goes on",
    async (_name, disguise) => {
      const reason = `It never ${disguise}. Also too short.`;
      const result = await runWith(pipeline(), {
        write: [
          { agent: "Draft.", judge: { "secret-criterion": { score: 0.2, reason } } },
          { agent: "Better draft.", judge: { "secret-criterion": { score: 0.9, reason: "good" } } },
        ],
      });
      expect(result.state?.status).toBe("succeeded");
      const retry = result.agentPrompts[1] ?? "";
      expect(retry).toContain("It never […]. Also too short.");
      expect(retry).not.toContain(disguise);
      expect(findRubricLeak(retry, loadPipeline(pipeline()).pipeline)).toBeUndefined();
    },
  );

  it.each(DISGUISED)(
    "a rubric in disguise (%s) in the pipeline's own prompt still stops the run as holdout violated",
    async (_name, disguise) => {
      const result = await runWith(pipeline(`Write about {{ issue.title }}. Make sure it ${disguise}.`), {
        write: [{ agent: "Draft.", judge: { "secret-criterion": { score: 0.9, reason: "good" } } }],
      });
      expect(result.agentPrompts).toEqual([]);
      expect(result.state?.status).toBe("failed");
      expect(result.state?.reason).toBe(
        'holdout violated: the prompt of phase "write" contains the rubric of write: secret-criterion',
      );
    },
  );
});
