import { describe, expect, it } from "vitest";
import { type ContextInput, renderPath, renderPrompt } from "../../src/engine/template-context.js";
import { checkTemplate } from "../../src/pipeline/check-pipeline.js";
import { renderTemplate, TEMPLATE_LIMITS, TemplateError } from "../../src/pipeline/templates.js";

const input: ContextInput = {
  issue: { number: 100_000, title: "t", body: "b", labels: [], author: "a", url: "u" },
  repo: { owner: "o", name: "r", defaultBranch: "main" },
  pipeline: { name: "p" },
  outputs: { research: "r" },
  phase: { id: "draft", name: "Draft" },
};

const ARRAY =
  '{% assign xs = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,0,1,2,3,4,5" | split: "," %}';

/** Templates that must not hang or grow without bound, each the shape of one way to do it. */
const RUNAWAY: Record<string, string> = {
  "nested literal ranges": "{% for a in (1..100000) %}{% for b in (1..100000) %}{% endfor %}{% endfor %}",
  "one huge literal range": "{% for a in (1..1000000000) %}x{% endfor %}",
  "nested loops over a small array": `${ARRAY}{% for a in xs %}{% for b in xs %}{% for c in xs %}{% for d in xs %}{% for e in xs %}{% for f in xs %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}`,
  "a capture that doubles itself":
    "{% capture s %}xxxxxxxxxx{% endcapture %}{% for i in (1..60) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}",
  "an assign that appends itself":
    '{% assign s = "xxxxxxxxxx" %}{% for i in (1..60) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}',
  "a replace that multiplies":
    '{% assign s = "xxxxxxxxxx" %}{% for i in (1..20) %}{% assign s = s | replace: "x", "xxxxxxxxxx" %}{% endfor %}{{ s | size }}',
  "a loop writing a long line": `{% assign s = "${"y".repeat(200)}" %}{% for i in (1..90000) %}{{ s }}{% endfor %}`,
  "a padded date": '{{ "2024-01-01" | date: "%1000000000d" }}',
  "a loop bounded by the issue number":
    "{% for i in (1..issue.number) %}{% for j in (1..issue.number) %}.{% endfor %}{% endfor %}",
};

describe("template limits", () => {
  for (const [name, template] of Object.entries(RUNAWAY)) {
    it(`stop ${name} with a limit error instead of hanging`, () => {
      const started = performance.now();
      let caught: unknown;
      try {
        renderPrompt(template, input);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TemplateError);
      expect((caught as TemplateError).kind).toBe("limit");
      expect((caught as Error).message).toMatch(/ran over its (render time|memory) limit of \d+/);
      // Far above the 500 ms limit: the point is that it ends, on a busy machine too.
      expect(performance.now() - started).toBeLessThan(10_000);
    });
  }

  it("say where the limit was run over", () => {
    expect(() => renderTemplate("line one\n  {% for a in (1..1000000000) %}x{% endfor %}", {})).toThrow(
      /memory limit of 4000000 characters at line 2, col 3: a range, loop, capture or string filter grows too large/,
    );
  });

  it("refuse a template over the size limit before parsing it", () => {
    const big = "x".repeat(TEMPLATE_LIMITS.maxChars + 1);
    expect(() => renderTemplate(big, {})).toThrow(
      `the template is ${TEMPLATE_LIMITS.maxChars + 1} characters, over the limit of ${TEMPLATE_LIMITS.maxChars}`,
    );
    expect(renderTemplate("x".repeat(TEMPLATE_LIMITS.maxChars), {})).toHaveLength(TEMPLATE_LIMITS.maxChars);
  });

  it("bound artifact paths the same way", () => {
    expect(() => renderPath("docs/{% for a in (1..1000000000) %}x{% endfor %}.md", input)).toThrow(
      TemplateError,
    );
  });

  it("leave ordinary templates alone: loops, captures, filters and long untrusted values", () => {
    const long = { ...input, issue: { ...input.issue, body: "z".repeat(5_000_000) } };
    const prompt = renderPrompt(
      "{% capture h %}#{{ issue.number | plus: 1 }}{% endcapture %}{{ h }} {% for i in (1..3) %}{{ i }}{% endfor %}\n{{ issue.body }}",
      long,
    );
    // An untrusted value is sealed while rendering, so its size costs the template nothing.
    expect(prompt.startsWith("#100001 123\n<untrusted-")).toBe(true);
    expect(prompt.length).toBeGreaterThan(5_000_000);
  });
});

describe("validate refuses a template that cannot render within the limits", () => {
  const scope = {
    earlier: new Set(["research"]),
    all: new Set(["research", "draft"]),
    optional: new Set<string>(),
  };
  const site = (text: string) => ({ path: ["phases", 1, "prompt"], text });

  it("with the position of the loop that runs over", () => {
    const problems = checkTemplate(
      site("Intro\n{% for a in (1..100000) %}{% for b in (1..100000) %}{% endfor %}{% endfor %}"),
      scope,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(
      /^template error: the template ran over its (render time|memory) limit/,
    );
    expect(problems[0]?.at?.row).toBe(2);
  });

  for (const name of [
    "one huge literal range",
    "a capture that doubles itself",
    "an assign that appends itself",
  ]) {
    it(`for ${name}`, () => {
      const problems = checkTemplate(site(RUNAWAY[name] as string), scope);
      expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/^template error: .*limit/)]);
    });
  }

  it("for a template over the size limit", () => {
    const problems = checkTemplate(site("x".repeat(TEMPLATE_LIMITS.maxChars + 10)), scope);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/over the limit of 100000/)]);
  });

  it("but not for a loop bounded by the issue number, which the run itself bounds", () => {
    expect(checkTemplate(site("{% for i in (1..issue.number) %}.{% endfor %}"), scope)).toEqual([]);
  });
});
