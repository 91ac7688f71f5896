import { describe, expect, it } from "vitest";
import { HEAD, problemLines } from "./helpers.js";

const phase = (artifact: string) =>
  `${HEAD}  - id: a\n    name: Plan it\n    task: code\n    prompt: y\n    output:\n      artifact: "${artifact}"\n`;

describe("an artifact path that can never be written", () => {
  it.each([
    ["../../etc/{{ issue.number }}.md", 'refusing to write "../../etc/1.md": it contains a .. segment'],
    [
      ".github/workflows/ci.yml",
      'refusing to write ".github/workflows/ci.yml": it is under .github/workflows/',
    ],
    [".git/x.md", 'refusing to write ".git/x.md": it is inside a .git directory'],
    ["/abs.md", 'refusing to write "/abs.md": it is absolute'],
    ["docs/{{ phase.name }}/", 'refusing to write "docs/Plan it/": it names a directory'],
  ])("refuses %s at validation, at the artifact", (artifact, message) => {
    const lines = problemLines(phase(artifact));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^p\.yml:8:17: phases\[0\]\.output\.artifact: /);
    expect(lines[0]).toContain(message);
  });

  it("accepts paths built from every path-safe variable", () => {
    const artifact =
      "{{ repo.full_name }}/{{ repo.owner }}-{{ repo.name }}@{{ repo.default_branch }}/{{ pipeline.name }}/{{ phase.id }}-{{ phase.name }}-{{ issue.number }}.md";
    expect(problemLines(phase(artifact))).toEqual([]);
  });

  it("reports only the variable when the template has another problem, not a path too", () => {
    expect(problemLines(phase("../{{ issue.title }}.md"))).toEqual([
      'p.yml:8:24: phases[0].output.artifact: "issue.title" cannot build a path: issue text must not choose file names (use issue.number, repo.name, repo.owner, repo.full_name, repo.default_branch, pipeline.name, phase.id, phase.name)',
    ]);
  });

  it("reports a template that fails to render, such as an unknown filter, once", () => {
    const lines = problemLines(phase("{{ issue.number | nope }}.md"));
    expect(lines).toHaveLength(1);
    // At the filter itself, and once: liquid's own "line:1, col:19" is not repeated after it.
    expect(lines[0]).toBe('p.yml:8:36: phases[0].output.artifact: template error: unknown filter "nope"');
  });
});
