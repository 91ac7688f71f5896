import { describe, expect, it } from "vitest";
import { foldBody, MAX_BODY } from "../../src/forge/github/fold-body.js";

describe("GitHub forge > foldBody", () => {
  it("leaves a body within the limit as it is", () => {
    expect(foldBody("short")).toBe("short");
  });

  it("closes a code fence the cut left open and says how long the text was", () => {
    const body = `intro\n\n\`\`\`ts\n${"y".repeat(MAX_BODY)}\n\`\`\``;
    const folded = foldBody(body);
    expect(folded.length).toBeLessThanOrEqual(MAX_BODY);
    expect(folded).toContain(
      `y\n\`\`\`\n\n> Truncated: ${body.length} characters, GitHub comments hold 65 536.`,
    );
  });
});
