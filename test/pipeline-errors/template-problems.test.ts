import { describe, expect, it } from "vitest";
import { HEAD, problemLines } from "./helpers.js";

/**
 * Issue 12, item 10: an unknown filter hid the file's other problems and was printed with two
 * sets of coordinates (the field's, then liquid's own "line:1, col:6"). Every template problem
 * is now at the template's own line and column in the file, once, next to every other problem.
 */
const agent = (id: string, prompt: string, extra = "") =>
  `  - id: ${id}\n    task: code\n${extra}    prompt: ${prompt}\n`;

describe("template problems in validate", () => {
  it("reports an unknown filter at the filter, with the template's other problems and the file's schema problems, sorted", () => {
    const text = `${HEAD}${agent("a", "|\n      Read {{ repo.name | upcas }} and {{ issue.tittle }}\n      {{ repo.owner | nope }}", "    tier: fastest\n")}${agent("b", '"{{ phases.a.output }}"')}`;
    expect(problemLines(text)).toEqual([
      'p.yml:5:11: phases[0].tier: expected one of fast | balanced | deep, got "fastest"',
      'p.yml:7:27: phases[0].prompt: template error: unknown filter "upcas" (did you mean "upcase"?)',
      'p.yml:7:43: phases[0].prompt: undefined variable "issue.tittle" (did you mean "issue.title"?)',
      'p.yml:8:23: phases[0].prompt: template error: unknown filter "nope"',
    ]);
  });

  it.each([
    [
      "an unknown tag",
      '"{% iff true %}x{% endif %}"',
      'p.yml:5:14: phases[0].prompt: template error: unknown tag "iff" (did you mean "if"?)',
    ],
    [
      "an unclosed tag",
      '"x {% for l in issue.labels %}"',
      "p.yml:5:16: phases[0].prompt: template error: {% for l in issue.labels %} is never closed: add {% endfor %} where it ends",
    ],
    [
      "an unclosed output",
      '"x {{ issue.title"',
      'p.yml:5:16: phases[0].prompt: template error: output "{{ issue.title" is never closed: end it with }}',
    ],
    [
      "a filter on an untrusted value",
      '"x {{ issue.body | downcase }}"',
      'p.yml:5:19: phases[0].prompt: "issue.body" is untrusted: a template can only output it as it is, {{ issue.body }}; a filter, tag or comparison sees a sealed placeholder, not the text',
    ],
  ])("reports %s once, at its own position, without liquid's coordinates", (_, prompt, line) => {
    const lines = problemLines(`${HEAD}${agent("a", prompt)}${agent("a", '"{{ issue.nmber }}"')}`);
    expect(lines).toEqual([
      line,
      'p.yml:6:9: phases[1].id: duplicate phase id "a"',
      'p.yml:8:17: phases[1].prompt: undefined variable "issue.nmber" (did you mean "issue.number"?)',
    ]);
    for (const each of lines) expect(each).not.toMatch(/line:\s*\d|col:\s*\d|at line \d/);
  });

  it("reports a filter and the unknown tag after it, where liquid stops reading", () => {
    expect(problemLines(`${HEAD}${agent("a", '"{{ repo.name | nope }} {% iff %}"')}`)).toEqual([
      'p.yml:5:14: phases[0].prompt: template error: unknown filter "nope"',
      'p.yml:5:37: phases[0].prompt: template error: unknown tag "iff" (did you mean "if"?)',
    ]);
  });

  it("places a render limit at the loop, without a second position in the message", () => {
    const loop = "{% for a in (1..100000) %}{% for b in (1..100000) %}{% endfor %}{% endfor %}";
    const lines = problemLines(`${HEAD}${agent("a", `"x ${loop}"`)}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^p\.yml:5:\d+: phases\[0\]\.prompt: template error: the template ran over its (render time|memory) limit of [\d,]+ (ms|characters): /,
    );
    expect(lines[0]).not.toMatch(/at line \d/);
  });
});
