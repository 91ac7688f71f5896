/**
 * The voice-sanded mutation: a text rewritten flat, the way an over-eager edit flattens a house
 * voice. Facts, order and code stay; the person, the register and the rhythm go.
 */

const CONTRACTIONS: [RegExp, string][] = [
  [/\b(w)on['’]t\b/gi, "$1ill not"],
  [/\b(c)an['’]t\b/gi, "$1annot"],
  [/\b(\w+)n['’]t\b/gi, "$1 not"],
  [/\b(\w+)['’]re\b/gi, "$1 are"],
  [/\b(\w+)['’]ve\b/gi, "$1 have"],
  [/\b(\w+)['’]ll\b/gi, "$1 will"],
  [/\b(I)['’]m\b/g, "$1 am"],
  [/\b(it|that|there|what|here|he|she|who)['’]s\b/gi, "$1 is"],
];

/** Person replaced by impersonal nouns; plural nouns keep the verbs right ("we are", "users are"). */
const IMPERSONAL: [RegExp, string][] = [
  [/\bWe\b/g, "The maintainers"],
  [/\bwe\b/g, "the maintainers"],
  [/\b[Uu]s\b/g, "the maintainers"],
  [/\bOur\b/g, "The project's"],
  [/\bour\b/g, "the project's"],
  [/\bYour\b/g, "The"],
  [/\byour\b/g, "the"],
  [/\bYou\b/g, "Users"],
  [/\byou\b/g, "users"],
  [/\bI\b/g, "the author"],
  [/\bmy\b/g, "the"],
  [/\bMy\b/g, "The"],
  [/\bme\b/g, "the author"],
];

/** Plain words swapped for the formal ones a flattening edit reaches for. */
const FORMAL_SWAPS: [RegExp, string][] = [
  [/\buse\b/g, "utilize"],
  [/\buses\b/g, "utilizes"],
  [/\bused\b/g, "utilized"],
  [/\bstarts?\b/g, "commences"],
  [/\bhelps?\b/g, "assists"],
  [/\bshows?\b/g, "demonstrates"],
  [/\babout\b/g, "approximately"],
  [/\balso\b/g, "additionally"],
  [/, so\b/g, "; consequently,"],
  [/(^|[.!?]\s+)So\b/g, "$1Consequently,"],
  [/!/g, "."],
];

/**
 * The text with its voice sanded off: contractions expanded, first and second person replaced by
 * impersonal nouns, plain words swapped for formal ones, short sentences and fragments joined into
 * longer ones. Facts, order and code are left alone.
 */
export function sandVoice(text: string): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  let fenced = false;
  const flush = () => {
    if (paragraph.length > 0) out.push(joinShort(flatten(paragraph.join(" "))));
    paragraph = [];
  };
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) {
      flush();
      fenced = !fenced;
      out.push(line);
    } else if (fenced || line.trim() === "" || /^\s*(#|\||>)/.test(line)) {
      flush();
      out.push(fenced || line.trim() === "" ? line : flatten(line));
    } else if (/^\s*([-*+]|\d+\.)\s/.test(line)) {
      flush();
      paragraph.push(line);
    } else paragraph.push(line.trim());
  }
  flush();
  return out.join("\n");
}

/** Word swaps outside inline code. */
function flatten(line: string): string {
  return line
    .split(/(`[^`]*`)/)
    .map((part, i) => {
      if (i % 2 === 1) return part;
      let flat = part;
      for (const [pattern, replacement] of [...CONTRACTIONS, ...IMPERSONAL, ...FORMAL_SWAPS])
        flat = flat.replace(pattern, replacement);
      return flat;
    })
    .join("");
}

/** Sentences of five words or fewer run into the next one. */
function joinShort(paragraph: string): string {
  const sentences = paragraph.split(/(?<=[.!?])\s+(?=\S)/);
  const out: string[] = [];
  for (let i = 0; i < sentences.length; i++) {
    const sentence = sentences[i] as string;
    const next = sentences[i + 1];
    if (next !== undefined && sentence.split(/\s+/).length <= 5) {
      const lower =
        /^\p{Lu}\p{Ll}/u.test(next) && !/^The maintainers|^Users/.test(next)
          ? next[0]?.toLowerCase() + next.slice(1)
          : next;
      out.push(`${sentence.replace(/[.!?]$/, "")}, and ${lower}`);
      i++;
    } else out.push(sentence);
  }
  return out.join(" ");
}
