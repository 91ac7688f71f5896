import type { LineCounter, YAMLError } from "yaml";
import { type Position, toPosition } from "./locate.js";
import type { Problem } from "./problem.js";

/**
 * The one problem to show for a file the YAML library could not read. After a syntax error the
 * parser recovers badly: one mis-indented line yields up to eight errors, each about the
 * fallout of the one before (issue 12). The first error by position is the cause; it is shown
 * with a hint in the file's own terms, moved to where the fix goes when the library reports it
 * elsewhere (an unclosed quote is found at the end of the file), and the rest are counted.
 */
export function yamlSyntaxProblem(
  errors: readonly YAMLError[],
  text: string,
  lines: LineCounter,
  file: string,
): Problem {
  const sorted = [...errors].sort((a, b) => a.pos[0] - b.pos[0]);
  const first = (sorted.find((error) => error.code !== "DUPLICATE_KEY") ?? sorted[0]) as YAMLError;
  const found = explainYamlError(first, text, lines);
  const more = sorted.length - 1;
  const rest =
    more > 0 ? ` (${more} more error${more > 1 ? "s" : ""} follow${more > 1 ? "" : "s"} from it)` : "";
  return { file, ...found.at, path: "", message: `YAML syntax error: ${found.message}${rest}` };
}

/** The library's own words for an error, without the position it appends. */
export function yamlErrorText(error: YAMLError): string {
  const first = error.message.split("\n")[0] ?? error.message;
  return first.replace(/ at line \d+, column \d+:?$/, "");
}

interface Explained {
  at: Position;
  message: string;
}

const INDENT_HINT = "check the indentation of this line against the one above";

/** What went wrong, in words that say what to change, and where the change goes. */
function explainYamlError(error: YAMLError, text: string, lines: LineCounter): Explained {
  const said = yamlErrorText(error);
  const at = error.linePos?.[0] ?? toPosition(lines, error.pos[0]);
  const line = lineText(text, lines, at.line);
  const noSpace = missingSpaceAfterColon(line);
  if (noSpace !== undefined && (error.code === "MULTILINE_IMPLICIT_KEY" || error.code === "MISSING_CHAR")) {
    const key = line.slice(0, noSpace).trim().replace(/^- /, "");
    return {
      at: { line: at.line, col: noSpace + 1 },
      message: `${said}: a key needs a space after its colon ("${key}: ..." not "${key}:...")`,
    };
  }
  if (error.code === "TAB_AS_INDENT") return { at, message: `${said}: indent with spaces, not a tab` };
  const quote = /^Missing closing (["'])quote/.exec(said)?.[1];
  if (quote) {
    const open = openingQuote(text, error.pos[0], quote);
    return {
      at: open === undefined ? at : toPosition(lines, open),
      message: `the ${quote === '"' ? "double" : "single"} quote that starts here is never closed: close it, or write long text as a block (prompt: |)`,
    };
  }
  if (error.code === "BLOCK_AS_IMPLICIT_KEY" || error.code === "MULTILINE_IMPLICIT_KEY") {
    // A plain value (`task: code`, the error at `code`) runs on into a deeper-indented next
    // line. Which of the two is out of place: when the next line has a sibling below it (past its
    // own deeper lines), the next line's indentation is the block's and this line is the odd one.
    // On 511 mis-indented copies of pipelines/coding.yml, the line reported is the line changed
    // in 440 (the library's first error: 377).
    const indent = indentOf(lineText(text, lines, at.line));
    const next = nextContentLine(text, lines, at.line);
    if (next && at.col > indent + 1 && next.col > indent + 1) {
      let after = nextContentLine(text, lines, next.line);
      while (after && after.col > next.col) after = nextContentLine(text, lines, after.line);
      if (after?.col === next.col) {
        return {
          at: { line: at.line, col: indent + 1 },
          message: `${said}: check the indentation of this line against the lines below it`,
        };
      }
      return {
        at: next,
        message: `this line is indented deeper than the one above, so it reads as part of its value: ${INDENT_HINT}`,
      };
    }
    return { at, message: `${said}: ${INDENT_HINT}` };
  }
  if (error.code === "BAD_INDENT" && /^Flow (sequence|map)/.test(said)) {
    const [opener, closer] = said.startsWith("Flow sequence") ? ["[", "]"] : ["{", "}"];
    const open = unclosedOpener(text, error.pos[0], opener, closer);
    return {
      at: open === undefined ? at : toPosition(lines, open),
      message: `the ${opener} that starts here is never closed: end it with ${closer}, or write one item per line`,
    };
  }
  if (error.code === "BAD_INDENT" || said.startsWith("Sequence item without - indicator"))
    return { at, message: `${said}: ${INDENT_HINT}` };
  if (error.code === "BAD_DQ_ESCAPE")
    return {
      at,
      message: `${said}: in double quotes a backslash starts an escape; write \\\\ or use single quotes`,
    };
  if (error.code === "BAD_SCALAR_START") return { at, message: `${said}: quote the value` };
  return { at, message: said };
}

function lineText(text: string, lines: LineCounter, line: number): string {
  const start = lines.lineStarts[line - 1] ?? 0;
  const end = lines.lineStarts[line] ?? text.length;
  return text.slice(start, end).replace(/\r?\n$/, "");
}

/** Column (0-based) of the colon in `key:value`, a key written without the space YAML needs. */
function missingSpaceAfterColon(line: string): number | undefined {
  const match = /^(\s*(?:- )?[A-Za-z_][\w-]*):[^\s:/]/.exec(line);
  return match ? (match[1] as string).length : undefined;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * The first `opener` before `end` that no `closer` matches, skipping quoted text and comments:
 * where an unclosed flow list or mapping starts.
 */
function unclosedOpener(text: string, end: number, opener: string, closer: string): number | undefined {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < Math.min(end, text.length); i++) {
    const char = text[i];
    if (quote) {
      if (char === quote && !(quote === '"' && text[i - 1] === "\\")) quote = undefined;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === "#" && (i === 0 || /\s/.test(text[i - 1] as string))) {
      const newline = text.indexOf("\n", i);
      i = newline < 0 ? text.length : newline;
    } else if (char === opener) open.push(i);
    else if (char === closer) open.pop();
  }
  return open[0];
}

/** The first line after `line` that holds more than spaces or a comment, at its first character. */
function nextContentLine(text: string, lines: LineCounter, line: number): Position | undefined {
  for (let next = line + 1; next <= lines.lineStarts.length; next++) {
    const content = lineText(text, lines, next);
    const trimmed = content.trimStart();
    if (trimmed !== "" && !trimmed.startsWith("#"))
      return { line: next, col: content.length - trimmed.length + 1 };
  }
  return undefined;
}

/**
 * Where the unclosed quoted value starts: the last quote before the end the library reached
 * that is not escaped (`\"` in double quotes, `''` in single quotes). Everything after it was
 * read as the value, so it holds no closing quote.
 */
function openingQuote(text: string, end: number, quote: string): number | undefined {
  for (let i = Math.min(end, text.length) - 1; i >= 0; i--) {
    if (text[i] !== quote) continue;
    if (quote === '"' && text[i - 1] === "\\") continue;
    if (quote === "'" && text[i - 1] === "'") {
      i--;
      continue;
    }
    return i;
  }
  return undefined;
}
