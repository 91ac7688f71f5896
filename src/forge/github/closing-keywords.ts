/**
 * GitHub closes an issue when a pull request whose body, or a commit whose message, says
 * "closes #1" reaches the default branch (docs.github.com, "Linking a pull request to an issue
 * using a keyword"): any of nine keywords, case-insensitive, an optional colon, then `#N`,
 * `owner/repo#N`, `GH-N` or the URL. Text the app copies from an issue title (or a model)
 * must not close anything (issue 11, class 7): "Add subtract (closes #1)" would close #1.
 */

const KEYWORD = "(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)";
/** Every form of reference, to any repository: defusing one too many is harmless. */
const REFERENCE = String.raw`(?:#\d|[\w.-]+\/[\w.-]+#\d|gh-\d|https?:\/\/\S+\/(?:issues|pull)\/\d)`;
// No word boundary before the keyword on purpose: `prefixes #1` is not one to GitHub, but being
// broader than GitHub's parser only ever defuses more. Any whitespace counts, Unicode's included,
// and after a colon none is needed (`fixes:#1`).
const CLOSING = new RegExp(`(${KEYWORD})(:\\s*|\\s+)(?=${REFERENCE})`, "giu");

/**
 * `text` with every closing keyword that is followed by a reference made inert: "closes #1"
 * becomes "closes ref #1", which GitHub still links but never acts on. The words stay readable.
 */
export function defuseClosingKeywords(text: string): string {
  return text.replace(
    CLOSING,
    (_match, keyword: string, gap: string) => `${keyword}${gap}${/\s$/u.test(gap) ? "" : " "}ref `,
  );
}
