/**
 * Off-topic answers for mutation testing: the good answer's shape filled with a fixed text about
 * something else entirely (a community garden), so the answer is well formed, about as long, and
 * keeps what the format asserts look for. Only a gate that reads the content can tell.
 */

/** A fixed text about something else, read in order and around again. */
const UNRELATED_PROSE = `The community garden keeps a watering rota on the shed door, and every household
takes one evening a week from April to September. Tomatoes in the raised beds need a deep soak
twice a week rather than a splash every night, because shallow watering keeps their roots near the
surface. The rain barrels fill quickly in spring but run dry by July, so the committee agreed to
water before eight in the morning or after seven in the evening, when less is lost to the sun.
Compost from the kitchen bins goes into the left bay and is turned every fortnight with the long
fork. The right bay is for finished compost, which should smell of earth and crumble in the hand.
Courgettes are generous, and one plant feeds a family, so please take a share when you pass. The
beans climb the hazel poles that the school children cut in February. Slugs are the main enemy in
wet weather, and a ring of grit around the lettuces works better than pellets, which harm the
hedgehogs that live under the blackberry bushes. New members get a plot near the gate for their
first season and a mentor from the committee, who shows them where the tools are kept and how to
lock the shed. Seed swaps happen on the first Sunday of March in the church hall, and anyone may
bring a tray of seedlings even without a plot. The greenhouse is shared: label your pots with your
name and the date, and water the whole bench if you are the last to leave on a hot day. Netting
keeps the pigeons off the brassicas, but it has to be pegged down at the edges or the blackbirds
walk straight under it. The annual harvest supper is on the last Saturday of September, and
everyone brings a dish made from something they grew.`;

/** Unrelated code, for off-topic file changes: a module about the garden's watering rota. */
const UNRELATED_CODE = `/** One household's evening on the watering rota. */
export interface RotaSlot {
  household: string;
  weekday: number;
}

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Spreads households over the week, one evening each, in the order they joined. */
export function buildRota(households: string[]): RotaSlot[] {
  return households.map((household, index) => ({ household, weekday: index % WEEKDAYS.length }));
}

/** The line printed on the shed door for one slot. */
export function describeSlot(slot: RotaSlot): string {
  const day = WEEKDAYS[slot.weekday] ?? "Sunday";
  return \`\${day}: \${slot.household} waters the raised beds and the greenhouse\`;
}

/** Litres a bed needs this week: a deep soak twice a week, less after rain. */
export function litresNeeded(bedArea: number, rainMillimetres: number): number {
  const weekly = bedArea * 20;
  return Math.max(0, weekly - bedArea * rainMillimetres);
}
`;

/** Reads the unrelated text a few characters at a time, in order; the same text for every answer. */
export function unrelatedText(): (length: number) => string {
  const words = UNRELATED_PROSE.split(/\s+/).filter(Boolean);
  let next = 0;
  return (length) => {
    const taken: string[] = [];
    while (length > 0 && taken.join(" ").length < length) taken.push(words[next++ % words.length] as string);
    return taken.join(" ");
  };
}

/** Reads the unrelated code a line at a time, around again. */
export function unrelatedCode(): () => string {
  const lines = UNRELATED_CODE.trimEnd().split("\n");
  let next = 0;
  return () => lines[next++ % lines.length] as string;
}

/** Markup that opens a line: indentation, a heading, a list item, a quote, or a label such as `AC1.`. */
const LINE_MARKUP = /^(\s*)(#{1,6}\s+|[-*+]\s+|\d+\.\s+|>\s*|[A-Z]{1,4}\d+[.:]?\s+)?/;

/** Tokens a table keeps: statuses (SUPPORTED), labels (F1), numbers. */
const TABLE_SKELETON = /^([A-Z]{3,}|[A-Z]{1,4}\d+|\d+|#)$/;

/**
 * The good text's shape with other words in it: every line keeps its markup, fences and table
 * layout, and the text its format asserts match (`keep`); the rest of the line becomes as many
 * characters of the unrelated text. Code in fences becomes unrelated code.
 */
export function offTopicText(
  text: string,
  keep: RegExp[],
  prose: (length: number) => string,
  code: () => string,
): string {
  let fenced = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return line;
      }
      if (line.trim() === "") return line;
      if (fenced) return code();
      if (/^\s*\|/.test(line)) return tableRow(line, prose);
      const prefix = LINE_MARKUP.exec(line)?.[0] ?? "";
      const rest = line.slice(prefix.length);
      const kept = keep.flatMap((pattern) => [...rest.matchAll(everywhere(pattern))].map((m) => m[0]));
      const fill = rest.length - kept.join(" ").length;
      // Beside a kept marker, a few leftover characters are punctuation, not words.
      const words = fill > (kept.length > 0 ? 8 : 0) ? prose(fill) : "";
      const body = [...kept, words].filter(Boolean).join(" ");
      return `${prefix}${/^#/.test(prefix.trim()) ? capitalised(body) : body}`;
    })
    .join("\n");
}

/** The same table row with each cell's words replaced, keeping statuses, labels and numbers. */
function tableRow(line: string, prose: (length: number) => string): string {
  return line
    .split("|")
    .map((cell, index, cells) => {
      if (index === 0 || index === cells.length - 1 || /^[\s:-]*$/.test(cell)) return cell;
      const kept = cell
        .trim()
        .split(/\s+/)
        .filter((token) => TABLE_SKELETON.test(token));
      const fill = cell.trim().length - kept.join(" ").length;
      const words = fill > 3 ? prose(fill) : "";
      return ` ${[...kept, words].filter(Boolean).join(" ")} `;
    })
    .join("|");
}

function everywhere(pattern: RegExp): RegExp {
  return new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
}

function capitalised(text: string): string {
  return text.length > 0 ? (text[0] as string).toUpperCase() + text.slice(1) : text;
}
