import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  COMMAND_KINDS,
  describeCommand,
  HELP_TEXT,
  MAX_COMMANDS,
  MAX_LINE_CHARS,
  type ParsedCommand,
  parseCommands,
  REQUIRED_ROLE,
} from "../../src/github/slash-commands.js";

/** One short string per parsed item, so a test reads like the comment it parses. */
function short(body: string): string[] {
  return parseCommands(body).map((cmd) => {
    switch (cmd.kind) {
      case "unknown":
        return `unknown /${cmd.name}`;
      case "invalid":
        return `invalid /${cmd.name}`;
      case "too-many":
        return `too-many ${cmd.ignored}`;
      default:
        return cmd.phase ? `/${cmd.kind} ${cmd.phase}` : `/${cmd.kind}`;
    }
  });
}

function only(body: string): ParsedCommand {
  const parsed = parseCommands(body);
  expect(parsed).toHaveLength(1);
  return parsed[0] as ParsedCommand;
}

describe("slash commands > recognising commands", () => {
  it.each(COMMAND_KINDS)("/%s on its own line is that command", (kind) => {
    expect(parseCommands(`/${kind}`)).toEqual([{ kind, line: 1 }]);
  });

  it("/retry and /escalate take a phase id", () => {
    expect(parseCommands("/retry requirements\n/escalate code-review")).toEqual([
      { kind: "retry", phase: "requirements", line: 1 },
      { kind: "escalate", phase: "code-review", line: 2 },
    ]);
  });

  it("several commands in a comment come back in order, with their lines", () => {
    const body = "Thanks for the draft.\n/retry plan\n\nAnd then\n/status\n/help";
    expect(parseCommands(body)).toEqual([
      { kind: "retry", phase: "plan", line: 2 },
      { kind: "status", line: 5 },
      { kind: "help", line: 6 },
    ]);
  });

  it("a command right after a line of prose, in the same paragraph, still counts", () => {
    expect(short("Looks wrong to me.\n/retry")).toEqual(["/retry"]);
  });

  it("up to 3 spaces of indentation are allowed, and spaces or tabs between words and at the end", () => {
    expect(short(" /status\n  /help\n   /retry \t plan \t ")).toEqual(["/status", "/help", "/retry plan"]);
  });

  it("4 spaces or a tab before the slash is code, not a command", () => {
    expect(short("    /retry\n\t/retry\n  \t/retry")).toEqual([]);
  });

  it("a command must start the line", () => {
    expect(short("please /retry\n- /retry\n1. /retry\n`/retry`\n**/retry**")).toEqual([]);
  });

  it("a lone slash, or a slash then a space, is prose", () => {
    expect(short("/\n/ retry\n//retry\n/1retry")).toEqual([]);
  });
});

describe("slash commands > unknown commands", () => {
  it("/retry-all is the unknown command retry-all: a word ends only at a space", () => {
    expect(only("/retry-all")).toEqual({ kind: "unknown", name: "retry-all", line: 1 });
  });

  it("a typo is unknown and the reply suggests the command", () => {
    const cmd = only("/stauts");
    expect(cmd).toEqual({ kind: "unknown", name: "stauts", line: 1 });
    expect(describeCommand(cmd)).toBe(
      '`/stauts` is not a command (did you mean "/status"?). `/help` lists them.',
    );
  });

  it("/dry_run is unknown, with /dry-run suggested", () => {
    expect(describeCommand(only("/dry_run"))).toContain('did you mean "/dry-run"');
  });

  it("commands are lower case: /Retry and /RETRY are unknown, and the reply says how to write them", () => {
    expect(short("/Retry\n/RETRY plan")).toEqual(["unknown /Retry", "unknown /RETRY"]);
    expect(describeCommand(only("/RETRY"))).toBe(
      "`/RETRY` is not a command: commands are lower case, `/retry`.",
    );
  });

  it("a word far from every command gets no suggestion", () => {
    expect(describeCommand(only("/deploy"))).toBe("`/deploy` is not a command. `/help` lists them.");
  });

  it("an unknown word with arguments is still unknown (the arguments are not read)", () => {
    expect(only("/shrug at this")).toEqual({ kind: "unknown", name: "shrug", line: 1 });
  });

  it("a path or other text glued to the word is prose, not a command", () => {
    expect(short("/usr/local/bin is where it goes\n/etc.\n/foo:bar")).toEqual([]);
  });

  it("a word longer than 32 characters is prose", () => {
    expect(short(`/${"a".repeat(32)}`)).toEqual([`unknown /${"a".repeat(32)}`]);
    expect(short(`/${"a".repeat(33)}`)).toEqual([]);
  });
});

describe("slash commands > invalid arguments", () => {
  it.each(["status", "cancel", "resume", "dry-run", "help"])("/%s takes no argument", (kind) => {
    const cmd = only(`/${kind} now`);
    expect(cmd).toEqual({ kind: "invalid", name: kind, reason: `\`/${kind}\` takes no argument.`, line: 1 });
    expect(describeCommand(cmd)).toBe(`\`/${kind}\` was not run: \`/${kind}\` takes no argument.`);
  });

  it("/retry with two arguments is invalid", () => {
    expect(only("/retry plan code")).toMatchObject({
      kind: "invalid",
      reason: "`/retry` takes at most one phase id.",
    });
  });

  it.each([
    ["Plan", "upper case"],
    ["plan_b", "underscore"],
    ["plan--b", "double dash"],
    ["plan-", "trailing dash"],
    ["-plan", "leading dash"],
    ["1plan", "leading digit"],
    ["plan.", "punctuation"],
  ])("/escalate %s (%s) is not a phase id", (phase) => {
    expect(only(`/escalate ${phase}`)).toMatchObject({
      kind: "invalid",
      name: "escalate",
      reason: expect.stringContaining(`\`${phase}\` is not a phase id`),
    });
  });

  it("a phase id may be 64 characters, not 65", () => {
    const id = `p${"-a".repeat(31)}b`;
    expect(id).toHaveLength(64);
    expect(only(`/retry ${id}`)).toEqual({ kind: "retry", phase: id, line: 1 });
    expect(only(`/retry ${id}c`)).toMatchObject({ kind: "invalid" });
  });

  it("punctuation attached to a command makes it invalid, not a different command", () => {
    expect(short("/retry.\n/cancel!\n/status,\n/retry:plan")).toEqual([
      "invalid /retry",
      "invalid /cancel",
      "invalid /status",
      "invalid /retry",
    ]);
    expect(only("/retry.")).toMatchObject({
      reason: "write `/retry` on its own or followed by a space, with nothing attached to it.",
    });
  });

  it("an argument is quoted back only when that is safe: printable ASCII, no backtick", () => {
    expect(only("/retry @everyone")).toMatchObject({ reason: expect.stringMatching(/^`@everyone` is not/) });
    expect(only("/retry a`b")).toMatchObject({ reason: expect.stringMatching(/^the argument is not/) });
    expect(only("/retry plаn")).toMatchObject({ reason: expect.stringMatching(/^the argument is not/) });
    expect(only(`/retry ${"x".repeat(65)}`)).toMatchObject({
      reason: expect.stringMatching(/^the argument is not/),
    });
  });
});

describe("slash commands > code blocks", () => {
  it("commands inside a ``` fence are ignored; after it they count", () => {
    expect(short("```\n/retry\n```\n/status")).toEqual(["/status"]);
  });

  it("a ~~~ fence with an info string hides commands too", () => {
    expect(short("~~~ text\n/retry\n~~~\n/status")).toEqual(["/status"]);
  });

  it("a fence closes only with the same character, at least as long", () => {
    expect(short("````\n/retry\n```\n/cancel\n~~~~\n/escalate\n`````\n/status")).toEqual(["/status"]);
  });

  it("a closing fence may not carry an info string", () => {
    expect(short("```\n/retry\n``` js\n/cancel\n```\n/status")).toEqual(["/status"]);
  });

  it("a fence that is never closed hides the rest of the comment", () => {
    expect(short("/status\n```\n/retry\n\n/cancel")).toEqual(["/status"]);
  });

  it("a fence indented 3 spaces is a fence; indented 4 it is not", () => {
    expect(short("   ```\n/retry\n   ```\n/status")).toEqual(["/status"]);
    expect(short("    ```\n\n/retry")).toEqual(["/retry"]);
  });

  it("```x``` on one line is inline code, not a fence", () => {
    expect(short("```x```\n/retry")).toEqual(["/retry"]);
  });

  it("a fence in a list item ends with the item, at a line indented less than its content", () => {
    expect(short("- ```\n  /retry\n  ```\n/status")).toEqual(["/status"]);
    expect(short("- ```\n  /retry\n/status")).toEqual(["/status"]);
    expect(short("1. ```\n   code\n\n   /retry\n/cancel")).toEqual(["/cancel"]);
  });

  it("an indented code block after a blank line hides its commands", () => {
    expect(short("Example:\n\n    /retry\n    /cancel\n\n/status")).toEqual(["/status"]);
  });
});

describe("slash commands > inline code", () => {
  it("a line that starts inside a code span spread over lines is not a command", () => {
    expect(short("Type `\n/retry\n` to try again")).toEqual([]);
    expect(short("Type ``a ` b\n/retry\n`` to try again")).toEqual([]);
  });

  it("a backtick with no closer in the paragraph is literal, so the next line counts", () => {
    expect(short("don't use a ` here\n/retry")).toEqual(["/retry"]);
    expect(short("Type `\n\n/retry\n\n` later")).toEqual(["/retry"]);
  });

  it("a code span closes only with a run of the same length", () => {
    expect(short("a `` b\n/retry ` c\n/cancel\n`` d\n/status")).toEqual(["/status"]);
  });

  it("an escaped backtick opens nothing", () => {
    expect(short("a \\` b\n/retry\nc ` d")).toEqual(["/retry"]);
  });

  it("a new list item starts a new paragraph: backticks in two items make no span between them", () => {
    expect(short("- a `\n- b\n/retry\n- c `")).toEqual(["/retry"]);
  });
});

describe("slash commands > block quotes", () => {
  it("a quoted command is ignored", () => {
    expect(short("> /retry\n>/cancel\n   > /escalate\n> > /status")).toEqual([]);
  });

  it("a line right after a quote continues it (lazy continuation), so it is not a command", () => {
    expect(short("> You wrote this\n/retry")).toEqual([]);
  });

  it("after a blank line, or after an empty quote line, a command counts", () => {
    expect(short("> You wrote this\n\n/retry")).toEqual(["/retry"]);
    expect(short("> You wrote this\n>\n/cancel")).toEqual(["/cancel"]);
  });

  it("a fence opened inside a quote does not hide text after the quote", () => {
    expect(short("> ```\n> /retry\n\n/status")).toEqual(["/status"]);
  });

  it("a fence right after a quote ends the quote", () => {
    expect(short("> quoted\n```\n/retry\n```\n/status")).toEqual(["/status"]);
  });
});

describe("slash commands > HTML comments", () => {
  it("commands in an HTML comment (a saved reply's template) are ignored", () => {
    const body = "<!--\nTemplate: write /retry to try again\n/retry\n-->\n/status";
    expect(short(body)).toEqual(["/status"]);
  });

  it("a one-line comment hides nothing after it", () => {
    expect(short("<!-- note -->\n/retry")).toEqual(["/retry"]);
    expect(short("<!-->\n/retry")).toEqual(["/retry"]);
  });

  it("a comment opened mid-paragraph hides the lines up to its end", () => {
    expect(short("Hi <!--\n/retry\n--> there\n/status")).toEqual(["/status"]);
  });

  it("a comment left open at the end of a paragraph is literal text (as GitHub shows it)", () => {
    expect(short("Hi <!--\n\n/retry")).toEqual(["/retry"]);
  });

  it("an unclosed comment block hides the rest", () => {
    expect(short("<!--\n/retry\n\n/cancel")).toEqual([]);
  });

  it("a comment opened right after a quote is still a comment", () => {
    expect(short("> quoted\n<!--\n/retry\n-->\n\n/status")).toEqual(["/status"]);
  });

  it("<!-- inside a code span opens no comment", () => {
    expect(short("use `<!--` to hide text\n/retry")).toEqual(["/retry"]);
  });

  it("a fenced --> does not end a comment early, and a commented ``` opens no fence", () => {
    expect(short("<!--\n```\n-->\n/retry")).toEqual(["/retry"]);
  });
});

describe("slash commands > hostile input", () => {
  it("Unicode look-alikes are not commands, and no normalisation turns them into one", () => {
    const lookAlikes = [
      "/rеtry", // Cyrillic е
      "/retrу", // Cyrillic у
      "／retry", // fullwidth solidus
      "／ｒｅｔｒｙ", // fullwidth, NFKC gives /retry
      "∕retry", // division slash
      "⁄retry", // fraction slash
    ];
    expect("／ｒｅｔｒｙ".normalize("NFKC")).toBe("/retry");
    expect(short(lookAlikes.join("\n"))).toEqual([]);
  });

  it("a look-alike after a real command word makes it invalid, never a different command", () => {
    expect(short("/retryе")).toEqual(["invalid /retry"]);
  });

  it("zero-width characters inside the word: not a command", () => {
    expect(short("/re\u200btry\n/re\u200dtry\n/re\u2060try\n\u200b/retry\n\ufeff/retry")).toEqual([]);
  });

  it("zero-width characters after the word make it invalid; they are not a separator", () => {
    expect(short("/cancel\u200b\n/retry\u00a0plan")).toEqual(["invalid /cancel", "invalid /retry"]);
  });

  it("null bytes: not part of a command word", () => {
    expect(short("/re\0try\n\0/retry")).toEqual([]);
    expect(short("/retry\0")).toEqual(["invalid /retry"]);
  });

  it("right-to-left overrides: not a command, nor a phase id", () => {
    expect(short("\u202e/retry\n/\u202eyrter")).toEqual([]);
    expect(short("/retry \u202enalp")).toEqual(["invalid /retry"]);
  });

  it("\\r\\n and lone \\r end lines, and line numbers count them", () => {
    expect(parseCommands("hello\r\n/retry plan\r\n\r\n/status\r/help\r\n")).toEqual([
      { kind: "retry", phase: "plan", line: 2 },
      { kind: "status", line: 4 },
      { kind: "help", line: 5 },
    ]);
  });

  it("a fence written with \\r\\n line endings still hides its commands", () => {
    expect(short("```\r\n/retry\r\n```\r\n/status")).toEqual(["/status"]);
  });

  it(`a line longer than ${MAX_LINE_CHARS} characters is not read`, () => {
    const at = (length: number) => `/retry plan${" ".repeat(length - "/retry plan".length)}`;
    expect(at(MAX_LINE_CHARS)).toHaveLength(MAX_LINE_CHARS);
    expect(short(at(MAX_LINE_CHARS))).toEqual(["/retry plan"]);
    expect(short(at(MAX_LINE_CHARS + 1))).toEqual([]);
    expect(short(`/retry ${"a".repeat(5_000)}\n/status`)).toEqual(["/status"]);
  });

  it("a long line still opens a fence or a comment: it is skipped for commands, not for structure", () => {
    expect(short(`<!--${"x".repeat(2_000)}\n/retry\n-->\n/status`)).toEqual(["/status"]);
    expect(short(`\`\`\`${"x".repeat(2_000)}\n/retry\n\`\`\`\n/status`)).toEqual(["/status"]);
  });

  it("nothing past GitHub's 65,536-character comment limit is read, nor the line it cuts", () => {
    const filler = `${"a".repeat(99)}\n`.repeat(655); // 65,500 characters
    expect(short(`${filler}/status\n`)).toEqual(["/status"]); // ends at 65,508
    expect(short(`${filler}/retry plan-that-is-cut-off-by-the-limit\n`)).toEqual([]);
    expect(short(`${filler}${"b".repeat(100)}\n/retry`)).toEqual([]);
  });

  it(`at most ${MAX_COMMANDS} commands are taken from a comment; the rest are reported, not run`, () => {
    const body = Array.from({ length: 300 }, () => "/status").join("\n");
    const parsed = parseCommands(body);
    expect(parsed).toHaveLength(MAX_COMMANDS + 1);
    expect(parsed.slice(0, MAX_COMMANDS).every((cmd) => cmd.kind === "status")).toBe(true);
    const last = parsed[MAX_COMMANDS] as ParsedCommand;
    expect(last).toEqual({ kind: "too-many", ignored: 290, line: 11 });
    expect(describeCommand(last)).toBe(
      "290 more commands were ignored, from line 11 on: a comment runs at most 10.",
    );
  });

  it("unknown and invalid lines count towards the limit too", () => {
    const body = [...Array.from({ length: 10 }, (_, i) => `/nope${i}`), "/cancel"].join("\n");
    expect(short(body).slice(-2)).toEqual(["unknown /nope9", "too-many 1"]);
  });

  it("a 100 kB comment is cut to GitHub's limit before anything else reads it", () => {
    expect(parseCommands(`/status\n${"`".repeat(100_000)}`)).toEqual([{ kind: "status", line: 1 }]);
  });

  // No timings (bench/ holds those): these inputs are the worst cases of the scans in
  // command-lines.ts, each a comment at GitHub's limit. A quadratic or backtracking step would
  // take minutes on them, not moments.
  it.each([
    ["backtick runs of growing length", Array.from({ length: 250 }, (_, i) => "`".repeat(i + 1)).join(" ")],
    ["unclosed comment openers", "<!--".repeat(8_000)],
    ["list markers", "1. - * + ".repeat(3_500)],
    ["escapes and backticks", "\\`".repeat(16_000)],
    ["slashes", "/".repeat(32_000)],
    ["a command word", `/${"a-".repeat(16_000)}`],
    ["quote markers", "> ".repeat(16_000)],
    ["leading spaces", `${" ".repeat(32_000)}/retry`],
    ["a fence", `${"~".repeat(32_000)} x\n/retry`],
  ])("a comment of two 32 kB lines of %s is handled", (_, line) => {
    const body = `${line}\n${line}`;
    expect(body.length).toBeGreaterThan(60_000);
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(parseCommands(body)).toEqual([]);
  });

  it("many lines that each open a code span are handled", () => {
    expect(parseCommands("a `\n".repeat(16_000))).toEqual([]);
  });
});

describe("slash commands > help, roles and acknowledgements", () => {
  it("/resume needs maintain; every other command write", () => {
    expect(REQUIRED_ROLE).toEqual({
      status: "write",
      retry: "write",
      escalate: "write",
      cancel: "write",
      resume: "maintain",
      "dry-run": "write",
      help: "write",
    });
  });

  it("the help lists every command with its argument and who may use it", () => {
    for (const kind of COMMAND_KINDS) expect(HELP_TEXT).toContain(`\`/${kind}`);
    expect(HELP_TEXT).toContain("| `/retry [phase]` |");
    expect(HELP_TEXT).toContain("| `/escalate [phase]` |");
    expect(HELP_TEXT).toMatch(/\| `\/resume` \| .* \| maintain or admin \|/);
    expect(HELP_TEXT).toMatch(/\| `\/cancel` \| .* \| write, maintain or admin \|/);
  });

  it("the help text holds no command a reader could trigger by quoting it", () => {
    expect(parseCommands(HELP_TEXT)).toEqual([]);
  });

  it("acknowledgements name the command and what happens", () => {
    expect(parseCommands("/retry\n/retry plan\n/escalate plan\n/resume").map(describeCommand)).toEqual([
      "`/retry`: running the last failed (or the current) phase again, then every phase after it.",
      "`/retry plan`: running phase `plan` again, then every phase after it.",
      "`/escalate plan`: running phase `plan` again one tier up.",
      "`/resume`: ending the cooldown now.",
    ]);
  });
});

describe("slash commands > docs/commands.md", () => {
  const doc = readFileSync(new URL("../../docs/commands.md", import.meta.url), "utf8");

  it("shows the help table the app posts", () => {
    for (const row of HELP_TEXT.split("\n").filter((line) => line.startsWith("| `/"))) {
      expect(doc).toContain(row);
    }
  });

  it("its example comment parses to the result it shows", () => {
    const example = /````markdown\n([\s\S]*?)\n````\n/.exec(doc)?.[1];
    const result = /```json\n([\s\S]*?)\n```\n/.exec(doc)?.[1];
    expect(example, "a ````markdown block").toBeDefined();
    expect(result, "a ```json block after it").toBeDefined();
    expect(parseCommands(example ?? "")).toEqual(JSON.parse(result ?? "null"));
  });
});
