import { LOOK_ALIKES } from "./look-alikes.js";

/** One word of a text in its folded form, with where it stands in the original text. */
export interface FoldedWord {
  /** The word as compared: compatibility-decomposed, unmarked, lowercase, look-alikes folded. */
  text: string;
  /** Offset (UTF-16) in the original text of the word's first character, or of the invisible ones just before it. */
  start: number;
  /** Offset just past the word's last character, or the invisible ones just after it. */
  end: number;
}

/**
 * Characters that draw nothing: format characters (zero-width space and joiners, word joiner,
 * soft hyphen, byte order mark, bidi controls) and the other default-ignorable ones (variation
 * selectors, Hangul fillers, the combining grapheme joiner). Dropped, so a word with one inside
 * stays one word.
 */
const INVISIBLE = /^[\p{Cf}\p{Default_Ignorable_Code_Point}]$/u;
const MARK = /\p{M}/gu;
const WORD_CHAR = /^[\p{L}\p{N}]$/u;

function lookAlike(text: string): string {
  let out = "";
  for (const char of text) out += LOOK_ALIKES.get(char) ?? char;
  return out;
}

const folds = new Map<string, string>();

/**
 * One character as compared, "" for one that draws nothing. Compatibility decomposition turns
 * fullwidth, mathematical and circled letters and ligatures (ﬁ) into plain ones; combining marks
 * go, so accents and marks stacked on a word cannot split or disguise it. Look-alikes are folded
 * before lowercasing (Greek Ν is N, its lowercase ν is v) and again after (Cyrillic Г has no Latin
 * twin, its lowercase г passes for r).
 */
function foldChar(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 0x80) {
    const lower = char.toLowerCase();
    return lower === "l" ? "i" : lower;
  }
  const known = folds.get(char);
  if (known !== undefined) return known;
  const folded = INVISIBLE.test(char)
    ? ""
    : lookAlike(lookAlike(char.normalize("NFKD").replace(MARK, "")).toLowerCase());
  folds.set(char, folded);
  return folded;
}

/**
 * The words of a text (runs of letters and digits), folded so that a text and its disguise give
 * the same words: zero-width characters inside words, look-alike letters of other scripts,
 * fullwidth or mathematical letters, ligatures, combining marks and case make no difference.
 * Each word keeps its span in the original, so a caller can cut it out of the text as written.
 */
export function foldedWords(text: string): FoldedWord[] {
  const words: FoldedWord[] = [];
  let current: FoldedWord | undefined;
  // Invisible characters belong to the word they touch, so cutting a word out cuts them too (a
  // bidi override left behind would turn the rest of the text around).
  let invisibleFrom: number | undefined;
  let offset = 0;
  for (const char of text) {
    const start = offset;
    offset += char.length;
    const folded = foldChar(char);
    if (folded === "") {
      if (current) current.end = offset;
      else invisibleFrom ??= start;
      continue;
    }
    for (const part of folded) {
      if (!WORD_CHAR.test(part)) {
        current = undefined;
        invisibleFrom = undefined;
        continue;
      }
      if (current) {
        current.text += part;
        current.end = offset;
      } else {
        current = { text: part, start: invisibleFrom ?? start, end: offset };
        invisibleFrom = undefined;
        words.push(current);
      }
    }
  }
  return words;
}
