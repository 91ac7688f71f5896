/**
 * Just enough CommonMark (as GitHub renders comments) to tell which lines of a comment a reader
 * sees as plain text at the start of a line: a slash command must be one of them. Where this
 * simplifies, it errs towards hiding a line, never towards reading hidden text as a command.
 */

type LineClass = "text" | "item" | "blank" | "other";

interface Fence {
  char: "`" | "~";
  length: number;
  /** Column a line must reach to stay in the fence: the list item's content, 0 at top level. */
  container: number;
}

/**
 * Indices of the lines a command may be on, in order: visible paragraph text that does not start
 * inside inline code or an inline HTML comment. Not in fenced or indented code, block quotes (and
 * the lines that lazily continue them) or HTML comment blocks. `lines` have no line endings.
 *
 * Linear in the text's length: each pass moves forward only, and the searches for a closer
 * (`-->`, a backtick run of the same length) remember where they got to.
 */
export function commandLines(lines: readonly string[]): number[] {
  const classes = classifyLines(lines);
  const result: number[] = [];
  let start = 0;
  while (start < lines.length) {
    if (classes[start] !== "text" && classes[start] !== "item") {
      start++;
      continue;
    }
    let end = start + 1;
    while (end < lines.length && classes[end] === "text") end++;
    const hidden = linesStartingHidden(lines, start, end);
    for (let index = start; index < end; index++) if (!hidden.has(index)) result.push(index);
    start = end;
  }
  return result;
}

/**
 * Block structure, as CommonMark: fenced code (``` or ~~~, closed by a fence of the same
 * character at least as long; inside a list item also by a line indented less than the item),
 * indented code, block quotes and the lines that lazily continue them, HTML comment blocks.
 * `item` starts a new paragraph (a list item); `text` continues the one before, if any.
 */
function classifyLines(lines: readonly string[]): LineClass[] {
  const classes: LineClass[] = [];
  let fence: Fence | undefined;
  let inHtmlComment = false;
  let lazyQuote = false;
  let inParagraph = false;
  for (const line of lines) {
    const blank = /^[ \t]*$/.test(line);
    const indent = indentColumns(line);
    if (fence && fence.container > 0 && !blank && indent.columns < fence.container) fence = undefined;
    if (fence) {
      if (closesFence(line, fence, indent)) fence = undefined;
      classes.push("other");
      continue;
    }
    if (inHtmlComment) {
      if (line.includes("-->")) inHtmlComment = false;
      classes.push("other");
      continue;
    }
    if (blank) {
      lazyQuote = inParagraph = false;
      classes.push("blank");
      continue;
    }
    if (indent.columns >= 4) {
      // Indented code, unless it continues a paragraph (then it is text, but never a command).
      classes.push(inParagraph ? "text" : "other");
      continue;
    }
    const markers = /^(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*/.exec(line.slice(indent.end))?.[0] ?? "";
    const contentAt = indent.end + markers.length;
    const content = line.slice(contentAt);
    const opened = openFence(content, markers === "" ? 0 : columnAt(line, contentAt));
    if (opened || content.startsWith("<!--") || content.startsWith(">")) {
      fence = opened;
      inHtmlComment = content.startsWith("<!--") && !content.includes("-->", 2);
      // A quote's paragraph goes on in the next lines that do not start a block (lazy continuation).
      lazyQuote = content.startsWith(">") && !/^[>\s]*$/.test(content);
      inParagraph = false;
      classes.push("other");
      continue;
    }
    if (lazyQuote) {
      classes.push("other");
      continue;
    }
    classes.push(markers === "" ? "text" : "item");
    inParagraph = true;
  }
  return classes;
}

/** Columns of leading whitespace (a tab moves to the next multiple of 4) and where it ends. */
function indentColumns(line: string): { columns: number; end: number } {
  let end = 0;
  while (line[end] === " " || line[end] === "\t") end++;
  return { columns: columnAt(line, end), end };
}

/** The column `index` is at, tabs expanded. */
function columnAt(line: string, index: number): number {
  let columns = 0;
  for (let at = 0; at < index; at++) columns = line[at] === "\t" ? columns + 4 - (columns % 4) : columns + 1;
  return columns;
}

function openFence(content: string, container: number): Fence | undefined {
  const char = content[0];
  if (char !== "`" && char !== "~") return undefined;
  let length = 0;
  while (content[length] === char) length++;
  if (length < 3) return undefined;
  // A backtick fence's info string may hold no backtick: "```x```" is inline code.
  if (char === "`" && content.includes("`", length)) return undefined;
  return { char, length, container };
}

function closesFence(line: string, fence: Fence, indent: { columns: number; end: number }): boolean {
  if (indent.columns - fence.container > 3) return false;
  let at = indent.end;
  while (line[at] === fence.char) at++;
  return at - indent.end >= fence.length && /^[ \t]*$/.test(line.slice(at));
}

/**
 * Lines of one paragraph (`start` to `end`, exclusive) that begin inside an inline code span or an
 * inline HTML comment. Left to right as CommonMark: a backtick run opens a span only if a run of
 * the same length follows in the paragraph, `<!--` a comment only if `-->` follows; a backslash
 * escapes the punctuation after it outside code.
 */
function linesStartingHidden(lines: readonly string[], start: number, end: number): Set<number> {
  const starts: number[] = [];
  let text = "";
  for (let index = start; index < end; index++) {
    starts.push(text.length);
    text += index === start ? lines[index] : `\n${lines[index]}`;
  }
  const ranges = hiddenRanges(text);
  const hidden = new Set<number>();
  let range = 0;
  for (let offset = 0; offset < starts.length; offset++) {
    const at = starts[offset] ?? 0;
    while (range < ranges.length && (ranges[range]?.[1] ?? 0) <= at) range++;
    const current = ranges[range];
    if (current && current[0] < at) hidden.add(start + offset);
  }
  return hidden;
}

/** [start, end) of every code span and HTML comment of a paragraph, in order. */
function hiddenRanges(text: string): [number, number][] {
  const nextRun = backtickRuns(text);
  const ranges: [number, number][] = [];
  let closeComment = -2; // where the next "-->" is; -1 when there is none; -2 not searched yet
  let at = 0;
  while (at < text.length) {
    const char = text[at];
    if (char === "\\" && isAsciiPunctuation(text.charCodeAt(at + 1))) {
      at += 2;
    } else if (char === "`") {
      let length = 0;
      while (text[at + length] === "`") length++;
      const closer = nextRun(length, at + length);
      if (closer === undefined) at += length;
      else {
        ranges.push([at, closer + length]);
        at = closer + length;
      }
    } else if (char === "<" && text.startsWith("<!--", at)) {
      if (closeComment !== -1 && closeComment < at + 2) closeComment = text.indexOf("-->", at + 2);
      if (closeComment === -1) at += 4;
      else {
        ranges.push([at, closeComment + 3]);
        at = closeComment + 3;
      }
    } else at++;
  }
  return ranges;
}

function isAsciiPunctuation(code: number): boolean {
  return (
    (code >= 0x21 && code <= 0x2f) ||
    (code >= 0x3a && code <= 0x40) ||
    (code >= 0x5b && code <= 0x60) ||
    (code >= 0x7b && code <= 0x7e)
  );
}

/**
 * Finds the next maximal backtick run of a given length at or after a position. Positions asked
 * for only grow, so each length's list is walked once in all: linear overall.
 */
function backtickRuns(text: string): (length: number, from: number) => number | undefined {
  const byLength = new Map<number, number[]>();
  for (let at = 0; at < text.length; ) {
    if (text[at] !== "`") {
      at++;
      continue;
    }
    let length = 0;
    while (text[at + length] === "`") length++;
    const list = byLength.get(length) ?? [];
    list.push(at);
    byLength.set(length, list);
    at += length;
  }
  const cursor = new Map<number, number>();
  return (length, from) => {
    const list = byLength.get(length);
    if (!list) return undefined;
    let index = cursor.get(length) ?? 0;
    while (index < list.length && (list[index] ?? 0) < from) index++;
    cursor.set(length, index);
    return list[index];
  };
}
