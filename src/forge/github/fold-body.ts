import { cutTo, lengthOf } from "../../render/fit-text.js";

/** GitHub refuses comment bodies over 65 536 characters; stay well under to leave room for markers. */
export const MAX_BODY = 60_000;

/**
 * Cuts `body` to {@link MAX_BODY} characters with a note saying how much was left out, closing a
 * code fence or `<details>` block the cut left open so the rest of the comment still renders.
 */
export function foldBody(body: string, where = "the commit on the run branch"): string {
  const length = lengthOf(body);
  if (length <= MAX_BODY) return body;
  const note = `\n\n> Truncated: ${length} characters, GitHub comments hold 65 536. The full text is in ${where}.`;
  // Between graphemes: half an emoji would reach GitHub as a lone surrogate (issue 11, class 14).
  let kept = cutTo(body, MAX_BODY - lengthOf(note) - 200);
  for (const fence of ["```", "~~~"]) {
    const count = kept.match(new RegExp(`^\\s*${fence}`, "gm"))?.length ?? 0;
    if (count % 2 === 1) kept += `\n${fence}`;
  }
  const open = (kept.match(/<details>/g)?.length ?? 0) - (kept.match(/<\/details>/g)?.length ?? 0);
  kept += "\n</details>".repeat(Math.max(0, open));
  return kept + note;
}
