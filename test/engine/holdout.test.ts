import { describe, expect, it } from "vitest";
import { findRubricLeak, redactRubrics, WITHHELD } from "../../src/engine/holdout.js";
import { loadPipeline } from "../helpers/local-run.js";

const RUBRIC = "Fits the codebase: files keep the exact error style, naming and layout of their neighbours.";
const OTHER = "alpha bravo charlie delta echo foxtrot";

const { pipeline } = loadPipeline(`
name: held-out
phases:
  - id: implement
    task: code
    prompt: "Implement {{ issue.title }}"
    output: { files: true }
    gates:
      - judge:
          threshold: 0.7
          criteria:
            - { name: fits, weight: 1, rubric: "${RUBRIC}" }
            - { name: spelled, weight: 1, rubric: "${OTHER}" }
`);

/** The quote a judge makes of its rubric: nine words of it. */
const QUOTE = "fits the codebase: files keep the exact error style";

/** Puts `mark` after every letter but the last of each word. */
const inside = (mark: string) => (text: string) => text.replace(/\p{L}(?=\p{L})/gu, (c) => c + mark);
/** Replaces Latin letters by the given look-alikes. */
const swap = (table: Record<string, string>) => (text: string) =>
  [...text].map((c) => table[c] ?? c).join("");
const fullwidth = (text: string) =>
  text.replace(/[a-z]/gi, (c) => String.fromCodePoint((c.codePointAt(0) ?? 0) + 0xfee0));
const mathBold = (text: string) =>
  text.replace(/[a-z]/g, (c) => String.fromCodePoint(0x1d41a + (c.codePointAt(0) ?? 0) - 0x61));

const DISGUISES: [string, (text: string) => string][] = [
  ["zero-width spaces inside words", inside("\u200b")],
  ["zero-width non-joiners", inside("\u200c")],
  ["zero-width joiners", inside("\u200d")],
  ["word joiners", inside("\u2060")],
  ["soft hyphens", inside("\u00ad")],
  ["byte order marks", inside("\ufeff")],
  ["variation selectors", inside("\ufe0f")],
  ["left-to-right marks", inside("\u200e")],
  [
    "Cyrillic а е о р с х",
    swap({ a: "\u0430", e: "\u0435", o: "\u043e", p: "\u0440", c: "\u0441", x: "\u0445" }),
  ],
  [
    "Greek look-alikes",
    swap({ o: "\u03bf", a: "\u03b1", k: "\u03ba", t: "\u03c4", y: "\u03b3", i: "\u03b9" }),
  ],
  [
    "capital Greek and Cyrillic",
    (text) => swap({ F: "\u03dc", T: "\u0422", E: "\u0395", K: "\u039a" })(text.toUpperCase()),
  ],
  ["fullwidth letters", fullwidth],
  ["mathematical bold letters", mathBold],
  ["small capitals", swap({ f: "\ua730", i: "\u026a", t: "\u1d1b", s: "\ua731", h: "\u029c", e: "\u1d07" })],
  ["mixed case", (text) => [...text].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join("")],
  ["the ligatures ﬁ and ﬆ", (text) => text.replaceAll("fi", "\ufb01").replaceAll("st", "\ufb06")],
  ["accented letters", swap({ e: "\u00e9", a: "\u00e0", o: "\u00f6" })],
  ["combining accents", inside("\u0301")],
  ["combining strike-through", inside("\u0336")],
  [
    "Cyrillic, zero-width spaces and fullwidth together",
    (text) => inside("\u200b")(fullwidth(swap({ o: "\u043e", e: "\u0435" })(text))),
  ],
];

describe("holdout > a rubric quoted in disguise", () => {
  it.each(DISGUISES)("is found in a prompt: %s", (_name, disguise) => {
    const prompt = `Implement it. Remember: ${disguise(QUOTE)}.`;
    expect(prompt).not.toContain(QUOTE);
    expect(findRubricLeak(prompt, pipeline)).toBe("implement: fits");
  });

  it.each(DISGUISES)("is cut out of a critique, the rest kept as written: %s", (_name, disguise) => {
    const critique = `The change does not ${disguise(QUOTE)}; the new module throws strings.`;
    expect(redactRubrics(critique, pipeline)).toBe("The change does not […]; the new module throws strings.");
  });

  it("is cut where it stands, between quotes and punctuation, and each run separately", () => {
    const critique = `It says “${inside("\u200b")(QUOTE)}”, yet it does not. Also: ${fullwidth(OTHER)}!`;
    expect(redactRubrics(critique, pipeline)).toBe("It says “[…]”, yet it does not. Also: […]!");
  });

  it("is cut with the invisible characters around it: no bidi override is left to turn the text around", () => {
    const critique = `It does not \u202e${QUOTE}\u202c\u200b today.`;
    expect(redactRubrics(critique, pipeline)).toBe("It does not […] today.");
  });

  it("is cut again when cutting one run brings the words of another together", () => {
    // "fits the codebase" and "files keep the" make a rubric run once the other rubric between them is gone.
    const critique = `Well: fits the codebase ${OTHER} files keep the, or not.`;
    const redacted = redactRubrics(critique, pipeline);
    expect(redacted).toBe("Well: […], or not.");
    expect(findRubricLeak(redacted, pipeline)).toBeUndefined();
  });

  it.each([
    ["{{", "}}"],
    ["{%", "%}"],
  ])(
    "is found and cut inside template-tag braces %s %s: only a rubric's own tags are blanked",
    (open, close) => {
      const quoted = `Not done: ${open} ${QUOTE} ${close} at all.`;
      expect(findRubricLeak(quoted, pipeline)).toBe("implement: fits");
      expect(redactRubrics(quoted, pipeline)).toBe(`Not done: ${open} […] ${close} at all.`);
    },
  );

  it("is withheld whole when cuts keep joining new runs, in a bounded number of passes", () => {
    // Each cut of the innermost run joins the words around it into the next: one pass per level.
    const [a, b, c, d, e, f] = OTHER.split(" ");
    const levels = 200;
    const nested = `${`${a} ${b} ${c} `.repeat(levels)}${OTHER}${` ${d} ${e} ${f}`.repeat(levels)}`;
    const redacted = redactRubrics(`Work: ${nested}.`, pipeline);
    expect(redacted).toBe(WITHHELD);
    expect(findRubricLeak(redacted, pipeline)).toBeUndefined();
    // A few levels are still cut where they stand.
    expect(redactRubrics(`Work: ${a} ${b} ${c} ${OTHER} ${d} ${e} ${f}.`, pipeline)).toBe("Work: […].");
  });

  it("is found however the words are split by spaces, tabs, newlines or punctuation", () => {
    for (const gap of [" ", "\t", "\n", " - ", ", ", "\u00a0", "\u3000"]) {
      const prompt = QUOTE.split(" ").join(gap);
      expect(findRubricLeak(prompt, pipeline), JSON.stringify(gap)).toBe("implement: fits");
      expect(redactRubrics(`x ${prompt} y`, pipeline)).toBe("x […] y");
    }
  });
});

describe("holdout > ordinary text", () => {
  const ORDINARY = [
    "The change keeps the error style but misses the exact layout of the module next door.",
    "fits the codebase: files keep", // five words of the rubric: below the six-word window
    "Le code est propre, la façon de nommer est cohérente, mais l’erreur n’est pas gérée.",
    "Код хороший, но обработка ошибок отсутствует в новом модуле совсем.",
    "Ο κώδικας είναι καλός, αλλά λείπει ο έλεγχος σφαλμάτων στο νέο άρθρωμα.",
    "代码风格一致，但是缺少错误处理。",
    "Works for 👩‍💻 and 🏳️‍🌈 users; the ﬁle layout (café, naïve) is fine.",
    "",
  ];

  it.each(ORDINARY)("leaves a critique untouched: %j", (critique) => {
    expect(redactRubrics(critique, pipeline)).toBe(critique);
    expect(findRubricLeak(critique, pipeline)).toBeUndefined();
  });
});
