import { ForgeRefusal } from "./forge.js";

const KEY_VALUE = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*=([\s\S]*)$/;

/**
 * Refuses a `.gitmodules` whose entries would run a command, even where the repository allows
 * `.gitmodules` edits (`edits.allow: [submodules]`): adding or moving a submodule never needs one.
 * ext:: and fd:: URLs run a command (git refuses ext by default since 2.12, but a user's
 * `protocol.allow` can reopen it); a URL or path starting with "-" was read as an option of a git
 * command (CVE-2018-17456); `update = !cmd` ran cmd (CVE-2019-19604). Values are read as git reads
 * them (quotes, escapes, continued lines), so spelling one differently does not get it through.
 */
export function checkGitmodules(path: string, content: string): void {
  for (const line of logicalLines(content)) {
    const match = KEY_VALUE.exec(afterSectionHeader(line));
    if (!match) continue;
    const key = (match[1] ?? "").toLowerCase();
    const value = configValue(match[2] ?? "");
    const refuse = (why: string): never => {
      throw new ForgeRefusal(
        `refusing to write ${JSON.stringify(path)}: its ${key} ${JSON.stringify(value)} ${why}, even with edits.allow: [submodules]`,
      );
    };
    if (key === "url" && /^(ext|fd)::/i.test(value)) refuse("uses a transport that runs a command");
    if ((key === "url" || key === "path") && value.startsWith("-"))
      refuse('starts with "-", which git reads as an option');
    if (key === "update" && value.startsWith("!")) refuse("runs a command");
  }
}

/** Lines as git's config parser sees them: a backslash before a newline continues the line. */
function logicalLines(content: string): string[] {
  const lines: string[] = [];
  let current = "";
  let escaped = false;
  for (const c of content) {
    if (escaped) {
      current += c;
      escaped = false;
    } else if (c === "\\") {
      current += c;
      escaped = true;
    } else if (c === "\n") {
      lines.push(current);
      current = "";
    } else current += c;
  }
  lines.push(current);
  return lines;
}

/** Git allows a key on the same line as its section header (`[submodule "x"] url = ...`). */
function afterSectionHeader(line: string): string {
  if (!line.trimStart().startsWith("[")) return line;
  let quoted = false;
  for (let i = line.indexOf("["); i < line.length; i++) {
    const c = line[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "]" && !quoted) return line.slice(i + 1);
  }
  return "";
}

/**
 * The value as git reads it: quoted parts joined (`"ext"::sh` is `ext::sh`), backslash escapes
 * applied, a continued line joined, a `;` or `#` outside quotes starting a comment, outer spaces
 * dropped.
 */
function configValue(raw: string): string {
  let value = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "\\") {
      const next = raw[++i] ?? "";
      if (next === "\r" && raw[i + 1] === "\n") i++;
      else if (next !== "\n") value += next === "n" ? "\n" : next === "t" ? "\t" : next === "b" ? "" : next;
    } else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ";" || c === "#")) break;
    else if (c !== "\r") value += c;
  }
  return value.trim();
}
