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
 * A character outside ASCII as compared, "" for one that draws nothing. Compatibility
 * decomposition turns fullwidth, mathematical and circled letters and ligatures (ﬁ) into plain
 * ones; combining marks go, so accents and marks stacked on a word cannot split or disguise it.
 * Look-alikes are folded before lowercasing (Greek Ν is N, its lowercase ν is v) and again after
 * (Cyrillic Г has no Latin twin, its lowercase г passes for r).
 */
function foldChar(char: string): string {
  const known = folds.get(char);
  if (known !== undefined) return known;
  const folded = INVISIBLE.test(char)
    ? ""
    : lookAlike(lookAlike(char.normalize("NFKD").replace(MARK, "")).toLowerCase());
  folds.set(char, folded);
  return folded;
}

function isAsciiWordCode(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** ASCII letters as compared: lowercase, with small l as i (see LOOK_ALIKES). */
function foldAscii(run: string): string {
  return run.toLowerCase().replaceAll("l", "i");
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
  const add = (part: string, start: number, end: number) => {
    if (current) {
      current.text += part;
      current.end = end;
    } else {
      current = { text: part, start: invisibleFrom ?? start, end };
      invisibleFrom = undefined;
      words.push(current);
    }
  };
  const separate = () => {
    current = undefined;
    invisibleFrom = undefined;
  };
  let offset = 0;
  while (offset < text.length) {
    const start = offset;
    if (text.charCodeAt(offset) < 0x80) {
      // Plain ASCII, the bulk of any prompt, is taken a run at a time: 1 MB of it folds in about
      // 0.1 s on our 2-core machine, a sixth of the time character by character.
      while (offset < text.length && isAsciiWordCode(text.charCodeAt(offset))) offset++;
      if (offset > start) add(foldAscii(text.slice(start, offset)), start, offset);
      else {
        separate();
        offset++;
      }
      continue;
    }
    const char = String.fromCodePoint(text.codePointAt(offset) ?? 0);
    offset += char.length;
    const folded = foldChar(char);
    if (folded === "") {
      if (current) current.end = offset;
      else invisibleFrom ??= start;
      continue;
    }
    for (const part of folded) {
      if (WORD_CHAR.test(part)) add(part, start, offset);
      else separate();
    }
  }
  return words;
}
