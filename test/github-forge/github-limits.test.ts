import { describe, expect, it } from "vitest";
import { defuseClosingKeywords } from "../../src/forge/github/closing-keywords.js";
import { foldBody } from "../../src/forge/github/fold-body.js";
import { createGitHubForge } from "../../src/forge/github/github-forge.js";
import { pullRequestBody, pullRequestTitle } from "../../src/forge/github/pull-request.js";
import { closedBy } from "../github-e2e/fake-github.js";
import { githubApi } from "../helpers/github/api.js";
import { testOctokit } from "../helpers/github/octokit.js";
import { BASE_SHA, BRANCH, commitMutation, headQuery, ISSUE, listPulls, OWNER, R, REPO } from "./fixtures.js";

const codePoints = (text: string) => [...text].length;
/** Half an emoji: what a cut by UTF-16 units leaves, and GitHub cannot store. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function forgeTitled(title: string) {
  return createGitHubForge({ octokit: testOctokit(), owner: OWNER, repo: REPO, issueNumber: ISSUE, title });
}

describe("GitHub forge > closing keywords from untrusted text (issue 11, class 7)", () => {
  const closing = [
    "closes #1",
    "Add subtract (closes #1)",
    "Fixes #1",
    "RESOLVED #1",
    "fix: octo/hello#1",
    "close: #1",
    "close:#1",
    "Fixes:#1",
    "Resolves #1, resolves #1",
    "fixed\thttps://github.com/octo/hello/issues/1",
    "Closes https://github.com/octo/hello/pull/1",
    "FIXES:   #1",
    "closed\n#1",
  ];
  it.each(closing)("%j closes nothing once defused, and reads the same words", (text) => {
    expect(closedBy([text], OWNER, REPO)).toEqual([1]);
    const safe = defuseClosingKeywords(text);
    expect(closedBy([safe], OWNER, REPO)).toEqual([]);
    expect(safe.replace(/ref /g, "").replace(/\s+/g, "")).toBe(text.replace(/\s+/g, ""));
    // Defusing twice changes nothing more.
    expect(defuseClosingKeywords(safe)).toBe(safe);
  });

  it("GH-1, another way to write a reference, is defused too", () => {
    expect(defuseClosingKeywords("resolve GH-1")).toBe("resolve ref GH-1");
  });

  it.each(["Fix the README", "closest #1 match", "#1 closes nothing", "Fixes: the crash"])(
    "%j has no closing reference and is left as it is",
    (text) => {
      expect(defuseClosingKeywords(text)).toBe(text);
    },
  );

  it("the pull request title and body close only the run's issue", () => {
    const title = pullRequestTitle("Add subtract (closes #1) fixes octo/hello#2 (#42)", true);
    expect(title).toBe("Add subtract (closes ref #1) fixes ref octo/hello#2 (#42)");
    expect(
      closedBy([title, pullRequestBody(ISSUE, "https://atomic.example/closes #3")], OWNER, REPO),
    ).toEqual([ISSUE]);
  });

  it("a commit message carrying closing keywords is committed defused", async () => {
    const sent: { input: { message: { headline: string; body: string } } }[] = [];
    headQuery(BASE_SHA);
    commitMutation("d".repeat(40), sent as unknown[]);
    listPulls([{ number: 7 }]);
    await forgeTitled("t").commit({
      branch: BRANCH,
      message:
        "implement: closes #1\n\nFixes octo/hello#2 and resolves https://github.com/octo/hello/issues/3",
      changes: [],
      key: "run-1/implement/1",
    });
    const message = sent[0]?.input.message;
    expect(message?.headline).toBe("implement: closes ref #1");
    expect(closedBy([message?.headline ?? "", message?.body ?? ""], OWNER, REPO)).toEqual([]);
  });
});

describe("GitHub forge > texts fitted to GitHub's limits (issue 11, class 14)", () => {
  const titles: [string, string][] = [
    ["256 ASCII characters", "x".repeat(256)],
    ["256 emoji", "😀".repeat(256)],
    ["an emoji across the cut", `${"x".repeat(250)}😀😀😀😀😀😀`],
    ["family emoji (ZWJ sequences)", "👨‍👩‍👧‍👦".repeat(36)],
    ["flags (two code points each)", "🇫🇷".repeat(128)],
    ["decomposed accents", "e\u0301".repeat(128)],
  ];
  it.each(titles)(
    "the pull request title for %s fits 256 characters and keeps (#N)",
    async (_name, issueTitle) => {
      headQuery(BASE_SHA);
      commitMutation("d".repeat(40));
      listPulls([]);
      githubApi().get(R).reply(200, { default_branch: "main" });
      const bodies: { title: string }[] = [];
      githubApi()
        .post(`${R}/pulls`, (body) => bodies.push(body) > 0)
        .reply(201, { number: 7 });
      await forgeTitled(`${issueTitle} (#${ISSUE})`).commit({
        branch: BRANCH,
        message: "m",
        changes: [],
        key: "k",
      });
      const title = bodies[0]?.title ?? "";
      expect(codePoints(title)).toBeLessThanOrEqual(256);
      expect(title).not.toMatch(LONE_SURROGATE);
      expect(title).toMatch(/… \(#42\)$/);
      // Cut between graphemes: what is kept is a prefix of the issue title, whole characters only.
      expect(issueTitle.startsWith(title.replace(/… \(#42\)$/, ""))).toBe(true);
    },
  );

  it("a short title is sent whole, and the no-draft fallback's prefix is counted too", () => {
    expect(pullRequestTitle("Add login (#42)", true)).toBe("Add login (#42)");
    const long = pullRequestTitle(`${"y".repeat(256)} (#42)`, false);
    expect(long.startsWith("[not ready] y")).toBe(true);
    expect(codePoints(long)).toBe(256);
  });

  const summaries: [string, string][] = [
    ["emoji, cut on a pair", "😀".repeat(70_000)],
    ["emoji, cut off a pair", `x${"😀".repeat(70_000)}`],
    ["ASCII", "s".repeat(70_000)],
  ];
  it.each(summaries)("a check summary of %s fits 65,535 characters", async (_name, summary) => {
    const bodies: { output: { title: string; summary: string } }[] = [];
    githubApi()
      .post(`${R}/check-runs`, (body) => bodies.push(body) > 0)
      .reply(201, { id: 5 });
    await forgeTitled("t").setCheck({
      runId: "r1",
      name: "Atomic Scrum / implement",
      headSha: BASE_SHA,
      status: "completed",
      conclusion: "success",
      title: "🎉".repeat(300),
      summary,
    });
    const output = bodies[0]?.output;
    expect(codePoints(output?.summary ?? "")).toBeLessThanOrEqual(65_535);
    expect(output?.summary).not.toMatch(LONE_SURROGATE);
    expect(output?.summary.endsWith("…")).toBe(true);
    expect(codePoints(output?.title ?? "")).toBeLessThanOrEqual(200);
    expect(output?.title).not.toMatch(LONE_SURROGATE);
  });

  it.each([
    ["emoji", "😀".repeat(70_000)],
    ["emoji after one letter", `x${"😀".repeat(70_000)}`],
    ["a fenced block left open", `\`\`\`\n${"😀 line\n".repeat(20_000)}`],
  ])("a comment body of %s past 65,536 characters is folded whole", (_name, body) => {
    const folded = foldBody(body);
    expect(codePoints(folded)).toBeLessThanOrEqual(65_536 - 100);
    expect(folded).not.toMatch(LONE_SURROGATE);
    expect(folded).toMatch(/> Truncated: \d+ characters/);
  });
});
