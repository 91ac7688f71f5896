import { createRequire } from "node:module";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import { describe, expect, it } from "vitest";
import { isGitHubEventName } from "../../src/github/github-event-names.js";
import { checkPayload, PAYLOAD_SCHEMAS } from "../../src/github/payload-schemas.js";

const examples = createRequire(import.meta.url)(
  "@octokit/webhooks-examples/api.github.com/index.json",
) as WebhookDefinition[];

describe("payload schemas", () => {
  // Every example GitHub documents for an event the app handles: a schema stricter than GitHub
  // would refuse real deliveries with 400.
  const real = examples.flatMap((definition) =>
    definition.examples
      .filter((e) => `${definition.name}.${"action" in e ? e.action : ""}` in PAYLOAD_SCHEMAS)
      .map(
        (e, i) =>
          [`${definition.name}.${(e as { action: string }).action} #${i + 1}`, definition.name, e] as const,
      ),
  );

  it("cover examples of every handled event but issues.closed, which has none", () => {
    const keys = new Set(real.map(([name]) => name.split(" ")[0]));
    expect(Object.keys(PAYLOAD_SCHEMAS).filter((key) => !keys.has(key))).toEqual(["issues.closed"]);
  });

  it.each(real)("the real example %s passes", (_name, event, payload) => {
    expect(checkPayload(event, payload as unknown as Record<string, unknown>)).toMatchObject({
      kind: "handled",
    });
  });

  it("an event or action without a handler is ignored, whatever it holds; prototype keys are not events", () => {
    expect(checkPayload("issues", { action: "opened" })).toEqual({ kind: "ignored" });
    expect(checkPayload("push", {})).toEqual({ kind: "ignored" });
    expect(checkPayload("issues", { action: "constructor" })).toEqual({ kind: "ignored" });
    expect(checkPayload("__proto__", {})).toEqual({ kind: "ignored" });
    for (const name of ["__proto__", "constructor", "toString", "error", "*", "issues.labeled", ""])
      expect(isGitHubEventName(name)).toBe(false);
    for (const name of ["issues", "ping", "installation", "check_suite"])
      expect(isGitHubEventName(name)).toBe(true);
  });

  it("problems name fields by path and do not echo values", () => {
    const check = checkPayload("check_suite", {
      action: "completed",
      sender: { login: "x", type: "User" },
      repository: { id: 1, name: "r", owner: { login: "o" }, default_branch: "main" },
      check_suite: { id: 1, head_branch: "b", head_sha: "SECRET-VALUE" },
    });
    expect(check).toEqual({
      kind: "invalid",
      key: "check_suite.completed",
      problems: ["check_suite.head_sha: expected a 40-character commit sha"],
    });
  });
});
