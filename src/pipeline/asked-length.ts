/**
 * How long a prompt asks the answer to be, read off its instructions the way a model reads them.
 * The dry run asks it of a prompt template (is the assert's limit told?) and the simulated model
 * of a rendered prompt (how long to write), so both read a prompt the same way.
 */
export interface AskedLength {
  /** Words, from "at least 150 words", "700 to 1,200 words". */
  minWords?: number;
  /** Words, from "at most 120 words", "under 400 words", "a 50-word summary". */
  maxWords?: number;
  /** Units of the whole answer, from its task statement: "in three sentences", "one line, then at most three bullet points". */
  sentences?: number;
  lines?: number;
  bullets?: number;
  paragraphs?: number;
}

/** Words a unit of an answer is taken to hold at most, for a limit given in units. */
export const WORDS_PER = { sentence: 25, line: 25, bullet: 25, paragraph: 120 } as const;

const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  single: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  twelve: 12,
};

const N = String.raw`(\d[\d,]*|a single|one|two|three|four|five|six|seven|eight|nine|ten|twelve|an?)`;

function toNumber(text: string): number {
  const word = text.toLowerCase().replace(/^a single$/, "single");
  return NUMBER_WORDS[word] ?? Number(word.replace(/,/g, ""));
}

const UNIT: Record<string, keyof typeof WORDS_PER> = {
  sentence: "sentence",
  line: "line",
  bullet: "bullet",
  "bullet point": "bullet",
  paragraph: "paragraph",
};

/**
 * Reads a length off `instructions` (trusted text only: the caller has removed untrusted blocks).
 * Word counts count anywhere outside fenced blocks (a fence is a template of the answer, whose
 * "two to five sentences" describe one section). Counts of sentences, lines, bullets and
 * paragraphs count only in the task statement, the first paragraph: later on they describe a part
 * ("one line per finding", "two or three sentences for the reviewer").
 */
export function askedLength(instructions: string): AskedLength {
  const text = instructions.replace(/```[\s\S]*?```/g, " ").replace(/\s+/g, " ");
  const asked: AskedLength = {};
  const lower = (value: number) => {
    asked.minWords = Math.max(asked.minWords ?? 0, value);
  };
  const upper = (value: number) => {
    asked.maxWords = Math.min(asked.maxWords ?? Number.POSITIVE_INFINITY, value);
  };
  const words = String.raw`(?:words?)\b`;
  for (const m of text.matchAll(
    new RegExp(String.raw`\b(?:between )?${N}(?: to | and |-|–)${N} ${words}`, "gi"),
  )) {
    lower(toNumber(m[1] ?? ""));
    upper(toNumber(m[2] ?? ""));
  }
  const atMost = `at most|no more than|not more than|no longer than|not longer than|up to|within|a maximum of|max(?:imum)?`;
  const below = String.raw`(?<!\bno |\bnot )(?:under|fewer than|less than|below)`;
  for (const m of text.matchAll(new RegExp(String.raw`\b(${atMost}|${below}) ${N} ${words}`, "gi"))) {
    const value = toNumber(m[2] ?? "");
    upper(/under|fewer|less|below/i.test(m[1] ?? "") ? value - 1 : value);
  }
  for (const m of text.matchAll(
    new RegExp(String.raw`\b${N} ${words} (?:or (?:fewer|less)|at most|max(?:imum)?)\b`, "gi"),
  ))
    upper(toNumber(m[1] ?? ""));
  for (const m of text.matchAll(new RegExp(String.raw`\b${N}-word\b`, "gi"))) {
    const value = toNumber(m[1] ?? "");
    upper(value);
    lower(Math.floor(value * 0.6));
  }
  const atLeast = `at least|no fewer than|no less than|a minimum of|min(?:imum)?`;
  // "no more than 120 words" is a maximum, read above, not "more than 120".
  const above = String.raw`(?<!\bno |\bnot )(?:over|more than)`;
  for (const m of text.matchAll(new RegExp(String.raw`\b(${atLeast}|${above}) ${N} ${words}`, "gi"))) {
    const value = toNumber(m[2] ?? "");
    lower(/over|more than/i.test(m[1] ?? "") ? value + 1 : value);
  }
  for (const m of text.matchAll(new RegExp(String.raw`\b${N} ${words} or more\b`, "gi")))
    lower(toNumber(m[1] ?? ""));
  readUnits(firstParagraph(instructions), asked);
  return asked;
}

function firstParagraph(instructions: string): string {
  return (
    (
      instructions
        .split(/\n\s*\n/)
        .map((part) => part.trim())
        // A prompt file may open with a heading ("# Summary"): the statement is the prose after it.
        .find((part) => /\p{L}/u.test(part) && !/^(?:#{1,6} [^\n]*(?:\n|$))+$/.test(part)) ?? ""
    ).replace(/\s+/g, " ")
  );
}

function readUnits(statement: string, asked: AskedLength): void {
  const unit = `(sentence|line|bullet point|bullet|paragraph)s?`;
  const pattern = new RegExp(
    String.raw`\b(?:(?:at most|up to|no more than) )?${N}(?: short)?[ -]${unit}\b(?! (?:per|each|for each)\b)`,
    "gi",
  );
  for (const m of statement.matchAll(pattern)) {
    const kind = UNIT[(m[2] ?? "").toLowerCase()];
    if (!kind) continue;
    const key = `${kind}s` as "sentences" | "lines" | "bullets" | "paragraphs";
    asked[key] = (asked[key] ?? 0) + toNumber(m[1] ?? "");
  }
}

/** The most words the asked length allows: its word limit, else its units at {@link WORDS_PER}. */
export function mostWords(asked: AskedLength): number | undefined {
  if (asked.maxWords !== undefined) return asked.maxWords;
  const units =
    (asked.sentences ?? 0) * WORDS_PER.sentence +
    (asked.lines ?? 0) * WORDS_PER.line +
    (asked.bullets ?? 0) * WORDS_PER.bullet +
    (asked.paragraphs ?? 0) * WORDS_PER.paragraph;
  return units > 0 ? units : undefined;
}
