import { suggest } from "../pipeline/template-variables.js";
import { commandLines } from "./command-lines.js";

/**
 * Slash commands in comments on a run's issue or pull request (docs/commands.md). Pure: this file
 * reads text and returns data; running the commands is the handler's job.
 *
 * Every step is linear in the comment's length by construction: the body is cut at
 * MAX_COMMENT_CHARS, each pass moves an index forward and never back, searches for a closer
 * (`-->`, a backtick run) remember what they found so no text is searched twice, and no regular
 * expression has nested or overlapping repetition (none can backtrack more than a few characters).
 */

export const COMMAND_KINDS = ["status", "retry", "escalate", "cancel", "resume", "dry-run", "help"] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** GitHub refuses longer comments; anything past this is not read. */
export const MAX_COMMENT_CHARS = 65_536;
/** A longer line is not read as a command (no command needs more than a phase id). */
export const MAX_LINE_CHARS = 1_000;
/** Commands taken from one comment; the rest are reported as one `too-many` item. */
export const MAX_COMMANDS = 10;
/** A `/word` longer than this is prose, not a mistyped command. */
export const MAX_NAME_CHARS = 32;
/** Longest phase id a command accepts. */
export const MAX_PHASE_ID_CHARS = 64;

/** A command we know, with its phase when one was given. */
export interface KnownCommand {
  kind: CommandKind;
  phase?: string;
  /** 1-based line of the comment the command is on. */
  line: number;
}

/** A line starting with `/word` where `word` is not a command (`/retry-all`, `/Retry`, `/stauts`). */
export interface UnknownCommand {
  kind: "unknown";
  /** The word after the slash: ASCII letters, digits, `-` and `_`, at most MAX_NAME_CHARS. */
  name: string;
  line: number;
}

/** A known command whose argument is wrong (`/cancel now`, `/retry Plan`, `/retry.`). */
export interface InvalidCommand {
  kind: "invalid";
  name: CommandKind;
  /** What is wrong and how to write it, safe to post as Markdown. */
  reason: string;
  line: number;
}

/** Commands past the first MAX_COMMANDS of a comment: none of them is run. */
export interface TooManyCommands {
  kind: "too-many";
  ignored: number;
  /** Line of the first command not taken. */
  line: number;
}

export type ParsedCommand = KnownCommand | UnknownCommand | InvalidCommand | TooManyCommands;

/** Role a user needs for each command; `write` also admits maintain and admin, `maintain` admin. */
export const REQUIRED_ROLE: Record<CommandKind, "write" | "maintain"> = {
  status: "write",
  retry: "write",
  escalate: "write",
  cancel: "write",
  resume: "maintain",
  "dry-run": "write",
  help: "write",
};

interface CommandSpec {
  takesPhase: boolean;
  /** What the command does, for /help. */
  help: string;
  /** Acknowledgement, given the phase when there is one. */
  ack: (phase?: string) => string;
}

const COMMANDS: Record<CommandKind, CommandSpec> = {
  status: {
    takesPhase: false,
    help: "Posts the run's current status: each phase's state, tier, score and cost.",
    ack: () => "posting the run's status",
  },
  retry: {
    takesPhase: true,
    help: "Runs the phase again, and every phase after it; a failed run goes on from where it stopped. Without a phase: the phase it failed in, else the current one.",
    ack: (phase) =>
      phase
        ? `running phase \`${phase}\` again, then every phase after it`
        : "running the last failed (or the current) phase again, then every phase after it",
  },
  escalate: {
    takesPhase: true,
    help: "Runs the phase again one tier up (fast → balanced → deep). Without a phase: the last failed one, else the current one.",
    ack: (phase) =>
      phase
        ? `running phase \`${phase}\` again one tier up`
        : "running the last failed (or the current) phase again one tier up",
  },
  cancel: {
    takesPhase: false,
    help: "Cancels the run: no further phase starts. A failed run is then over for good: no `/retry` revives it.",
    ack: () => "cancelling the run",
  },
  resume: {
    takesPhase: false,
    help: "Ends a cooldown early and moves the run on.",
    ack: () => "ending the cooldown now",
  },
  "dry-run": {
    takesPhase: false,
    help: "Walks the pipeline without calling a model and posts the report: rendered prompts, gaps in its spec and a cost forecast. Spends no tokens.",
    ack: () => "posting a dry run of the pipeline (no tokens spent)",
  },
  help: {
    takesPhase: false,
    help: "Posts this list.",
    ack: () => "posting the list of commands",
  },
};

const ROLE_TEXT: Record<"write" | "maintain", string> = {
  write: "write, maintain or admin",
  maintain: "maintain or admin",
};

/** The /help reply: every command, its argument, what it does and who may use it. */
export const HELP_TEXT: string = [
  "Commands go at the start of a line of a comment on the run's issue or pull request, one per line; a comment may hold up to " +
    `${MAX_COMMANDS}, run in order. Lines in code blocks, inline code, quotes and HTML comments are ignored.`,
  "",
  "| Command | What it does | Who may use it |",
  "| --- | --- | --- |",
  ...COMMAND_KINDS.map((kind) => {
    const usage = COMMANDS[kind].takesPhase ? `\`/${kind} [phase]\`` : `\`/${kind}\``;
    return `| ${usage} | ${COMMANDS[kind].help} | ${ROLE_TEXT[REQUIRED_ROLE[kind]]} |`;
  }),
  "",
  "A phase is named by its id in the pipeline, e.g. `/retry requirements`.",
].join("\n");

/** One line of Markdown acknowledging (or, for the rejected kinds, explaining) a parsed command. */
export function describeCommand(cmd: ParsedCommand): string {
  switch (cmd.kind) {
    case "unknown": {
      const lower = cmd.name.toLowerCase();
      if (isCommandKind(lower))
        return `\`/${cmd.name}\` is not a command: commands are lower case, \`/${lower}\`.`;
      return `\`/${cmd.name}\` is not a command${suggest(lower, COMMAND_KINDS, "/")}. \`/help\` lists them.`;
    }
    case "invalid":
      return `\`/${cmd.name}\` was not run: ${cmd.reason}`;
    case "too-many":
      return `${cmd.ignored} more command${cmd.ignored === 1 ? " was" : "s were"} ignored, from line ${cmd.line} on: a comment runs at most ${MAX_COMMANDS}.`;
    default: {
      const usage = cmd.phase ? `/${cmd.kind} ${cmd.phase}` : `/${cmd.kind}`;
      return `\`${usage}\`: ${COMMANDS[cmd.kind].ack(cmd.phase)}.`;
    }
  }
}

/**
 * The commands in a comment, in order: known ones, and `unknown`/`invalid` items the app answers
 * without changing anything. At most MAX_COMMANDS items, then one `too-many` item for the rest.
 */
export function parseCommands(body: string): ParsedCommand[] {
  const lines = splitLines(capComment(body));
  const candidates = commandLines(lines);
  const parsed: ParsedCommand[] = [];
  let ignored = 0;
  let firstIgnored = 0;
  for (const index of candidates) {
    const text = lines[index] ?? "";
    if (text.length > MAX_LINE_CHARS) continue;
    const command = parseLine(text, index + 1);
    if (!command) continue;
    if (parsed.length < MAX_COMMANDS) parsed.push(command);
    else if (ignored++ === 0) firstIgnored = index + 1;
  }
  if (ignored > 0) parsed.push({ kind: "too-many", ignored, line: firstIgnored });
  return parsed;
}

/** Cuts an over-long comment at its last whole line, so a cut line is never read as a command. */
function capComment(body: string): string {
  if (body.length <= MAX_COMMENT_CHARS) return body;
  const cut = body.slice(0, MAX_COMMENT_CHARS);
  const end = Math.max(cut.lastIndexOf("\n"), cut.lastIndexOf("\r"));
  return end < 0 ? "" : cut.slice(0, end);
}

/** Markdown's line endings: `\r\n`, `\n` and a lone `\r`. */
function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function isCommandKind(word: string): word is CommandKind {
  return (COMMAND_KINDS as readonly string[]).includes(word);
}

/** Space and tab only: a no-break space or a zero-width character does not end a command word. */
function isSeparator(char: string | undefined): boolean {
  return char === " " || char === "\t";
}

function isWordChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x5f // _
  );
}

function isAsciiLetter(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z]$/.test(char);
}

/**
 * The command on one line, if the line is one: up to 3 spaces, an ASCII `/`, a word of ASCII
 * letters, digits, `-` and `_` starting with a letter, then a space, a tab or the end of the line.
 * A line whose word runs into anything else (`/usr/bin`, `/rеtry` with a Cyrillic е, `/re​try`
 * with a zero-width space) is prose, unless the word is a command (`/retry.`): that one is invalid.
 */
function parseLine(text: string, line: number): ParsedCommand | undefined {
  let at = 0;
  while (at < 3 && text[at] === " ") at++;
  if (text[at] !== "/") return undefined;
  const wordStart = ++at;
  while (at < text.length && isWordChar(text.charCodeAt(at))) at++;
  const name = text.slice(wordStart, at);
  if (!isAsciiLetter(name[0]) || name.length > MAX_NAME_CHARS) return undefined;
  const attached = at < text.length && !isSeparator(text[at]);
  if (!isCommandKind(name)) return attached ? undefined : { kind: "unknown", name, line };
  if (attached) {
    return invalid(
      name,
      line,
      `write \`/${name}\` on its own or followed by a space, with nothing attached to it.`,
    );
  }
  const args = text
    .slice(at)
    .split(/[ \t]+/)
    .filter((arg) => arg !== "");
  if (!COMMANDS[name].takesPhase) {
    return args.length === 0 ? { kind: name, line } : invalid(name, line, `\`/${name}\` takes no argument.`);
  }
  if (args.length > 1) return invalid(name, line, `\`/${name}\` takes at most one phase id.`);
  const [phase] = args;
  if (phase === undefined) return { kind: name, line };
  if (!isPhaseId(phase)) {
    return invalid(
      name,
      line,
      `${showArgument(phase)} is not a phase id: phase ids are kebab-case (lower-case ASCII letters, digits and single dashes), at most ${MAX_PHASE_ID_CHARS} characters.`,
    );
  }
  return { kind: name, phase, line };
}

function invalid(name: CommandKind, line: number, reason: string): InvalidCommand {
  return { kind: "invalid", name, reason, line };
}

/** The pipeline schema's phase id rule, with a length cap; checked on at most 64 characters. */
function isPhaseId(text: string): boolean {
  return text.length <= MAX_PHASE_ID_CHARS && /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(text);
}

/**
 * An argument quoted back in a reply, but only when it is short printable ASCII with no backtick:
 * inside inline code it then cannot mention anyone, open HTML or hide look-alike characters.
 */
function showArgument(text: string): string {
  return text.length <= MAX_PHASE_ID_CHARS && /^[\x21-\x5f\x61-\x7e]+$/.test(text)
    ? `\`${text}\``
    : "the argument";
}
