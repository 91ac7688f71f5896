/**
 * Whether a UTF-16 unit is one a terminal acts on instead of drawing: C0 controls but tab and
 * newline (ESC starts CSI and OSC sequences: screen clears, OSC 52 clipboard writes, title
 * changes; BEL rings; CR overwrites the line), DEL, C1 controls (U+009B is an 8-bit CSI, U+009D an
 * 8-bit OSC), and the bidi controls that make text read differently from how it is stored
 * (Trojan Source, CVE-2021-42574), with the line and paragraph separators some terminals break on.
 */
function isControl(code: number): boolean {
  if (code < 0x20) return code !== 0x09 && code !== 0x0a;
  if (code >= 0x7f && code <= 0x9f) return true;
  return (
    code === 0x061c || // Arabic letter mark
    code === 0x200e || // left-to-right mark
    code === 0x200f || // right-to-left mark
    (code >= 0x2028 && code <= 0x202e) || // line and paragraph separators, embeddings and overrides
    (code >= 0x2066 && code <= 0x2069) // isolates
  );
}

/**
 * Text as the CLI may print it: every character a terminal would act on is shown as its escape
 * (`\u001b`), so an issue title (from any GitHub user, read back from the app's database) or a
 * model's answer cannot clear the screen, write the clipboard or reorder what is shown. Newlines
 * and tabs are kept; everything else is unchanged. Escaping twice changes nothing more.
 */
export function terminalSafe(text: string): string {
  let out = "";
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isControl(code)) continue;
    out += `${text.slice(copied, i)}\\u${code.toString(16).padStart(4, "0")}`;
    copied = i + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** What prints lines: the CLI's stdout and stderr. */
export interface LineWriter {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * The one place the CLI's output passes through: wraps both streams so nothing printed (command
 * output, progress, refusals, commander's own errors, the top-level error handler) can carry a
 * control character to the terminal, whoever builds the line.
 */
export function terminalSafeWriter<T extends LineWriter>(writer: T): LineWriter {
  return {
    out: (line) => writer.out(terminalSafe(line)),
    err: (line) => writer.err(terminalSafe(line)),
  };
}
