/** Model answers often wrap JSON in a Markdown fence; this takes the fence off. */
export function stripCodeFence(text: string): string {
  return text.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n```$/, "$1");
}

/** Text on one line, cut to `max` characters with an ellipsis. */
export function oneLine(text: string, max = 100): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** Lowercase ASCII words joined by dashes, at most `max` characters: safe in a ref or a file name. */
export function slugify(text: string, max = 40): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "") // accents go, letters stay: "Évil" -> "evil"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max)
    .replace(/-+$/, "");
}
