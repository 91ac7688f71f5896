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
  let kept = "";
  let count = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = lengthOf(segment);
    if (count + size > max) break;
    kept += segment;
    count += size;
  }
  return kept;
}
