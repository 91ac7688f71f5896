import { describe, expect, it } from "vitest";
import { parseFileEdit } from "../../src/executors/llm.js";
import { ProviderError } from "../../src/providers/provider.js";

function answer(files: unknown[]): string {
  return JSON.stringify({ summary: "s", files });
}

function failure(text: string, options?: Parameters<typeof parseFileEdit>[1]): ProviderError {
  try {
    parseFileEdit(text, options);
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error("expected the answer to be refused");
}

describe("parseFileEdit > the model's edit is held to the edit policy (issue 11, class 8)", () => {
  it.each([
    [
      "3,000 small files",
      answer(Array.from({ length: 3000 }, (_, i) => ({ path: `f${i}.ts`, content: "x" }))),
      /3000 files/,
    ],
    ["a 30 MB file", answer([{ path: "big.txt", content: "a".repeat(30_000_000) }]), /30000000 bytes/],
    [
      ".gitmodules with an ext:: URL",
      answer([{ path: ".gitmodules", content: "url = ext::sh -c id" }]),
      /\[submodules\]/,
    ],
    ["a nested .gitattributes", answer([{ path: "a/.gitattributes", content: "* -diff" }]), /\[attributes\]/],
    [".gitmodules. (a Windows spelling)", answer([{ path: ".gitmodules.", content: "x" }]), /\[submodules\]/],
    ["a name with U+0085", answer([{ path: "a\u0085b.md", content: "x" }]), /control character/],
    ["a name with U+202E", answer([{ path: "a\u202eb.md", content: "x" }]), /U\+202E/],
  ])("refuses %s as a bad answer with the reason, never a write", (_, text, rule) => {
    const error = failure(text);
    expect(error.kind).toBe("bad-output");
    expect(error.message).toMatch(/^refused edit: /);
    expect(error.message).toMatch(rule);
  });

  it("takes the run's policy: allowed areas and raised caps", () => {
    const files = [
      { path: ".husky/pre-commit", content: "npm test\n" },
      ...Array.from({ length: 150 }, (_, i) => ({ path: `f${i}.ts`, content: "x" })),
    ];
    expect(parseFileEdit(answer(files), { allow: ["hooks"], maxFiles: 151 }).files).toHaveLength(151);
    expect(failure(answer(files), { allow: ["hooks"] }).message).toMatch(/151 files/);
  });

  it("still takes allowWorkflows for .github/workflows/ alone", () => {
    const ci = { path: ".github/workflows/ci.yml", content: "on: push\n" };
    expect(parseFileEdit(answer([ci]), { allowWorkflows: true }).files).toEqual([ci]);
    expect(
      failure(answer([ci, { path: ".gitattributes", content: "x" }]), { allowWorkflows: true }).message,
    ).toMatch(/\[attributes\]/);
  });
});
