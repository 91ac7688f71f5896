/**
 * Fitting the app's texts to GitHub's limits (issue 11, class 14). GitHub counts a text's length
 * in characters as Ruby does, one per Unicode code point; JavaScript's `length` counts UTF-16
 * units, which would cut an emoji in half. Cuts fall between graphemes (a flag, a family emoji,
 * a letter with its accents stay whole) and end with a visible ellipsis.
 */

export const ELLIPSIS = "…";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The length of `text` as GitHub counts it: code points. */
export function lengthOf(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** `text` whole if it has at most `max` code points, else cut to fit with {@link ELLIPSIS} at the end. */
export function fitText(text: string, max: number): string {
  if (lengthOf(text) <= max) return text;
  return cutTo(text, max - lengthOf(ELLIPSIS)) + ELLIPSIS;
}

/**
 * `head` cut so that `head + tail` fits in `max` code points; `tail` (a `(#12)`, a marker) is kept
 * whole. A tail longer than `max` is itself cut: the limit always wins.
 */
export function fitKeepingTail(head: string, tail: string, max: number): string {
  const room = max - lengthOf(tail);
  if (room <= lengthOf(ELLIPSIS)) return fitText(head + tail, max);
  return fitText(head, room) + tail;
}

/** The longest prefix of `text` with at most `max` code points that ends between graphemes. */
export function cutTo(text: string, max: number): string {
  if (max <= 0) return "";
  // Count code points to the cut first: segmenting a whole 65,536-character body with ICU takes
  // seconds (measured 9 s for 70,000 letters here), and only the graphemes at the cut matter.
  let end = 0;
  let count = 0;
  while (end < text.length && count < max) {
    end += (text.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
    count++;
  }
  if (end >= text.length) return text;
  // Segment a window around the cut; no grapheme of ordinary text is longer than the window.
  let start = Math.max(0, end - WINDOW);
  if (/[\uDC00-\uDFFF]/.test(text[start] ?? "")) start -= 1;
  let boundary = start;
  for (const { index } of graphemes.segment(text.slice(start, end + WINDOW))) {
    if (start + index > end) break;
    boundary = start + index;
  }
  return text.slice(0, boundary);
}

/** UTF-16 units each side of a cut that are segmented to find the grapheme boundary before it. */
const WINDOW = 64;
