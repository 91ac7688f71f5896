import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { terminalSafe } from "../../src/render/terminal-text.js";
import { saveBreaker } from "../../src/store/breakers.js";
import { openDatabase } from "../../src/store/database.js";
import { listRuns, saveRunState } from "../../src/store/runs.js";
import { INSTALLATION_ID, labeledPayload, OWNER, REPO, startApp } from "../github-app/harness.js";
import { runCli as cli } from "../helpers/cli.js";
import { githubApi } from "../helpers/github/api.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { tempDir, tempFile, tempRepo } from "../helpers/temp.js";

/**
 * A title that would take over a terminal printed raw: clear the screen and home the cursor (CSI
 * 2J, CSI H), write the clipboard (OSC 52, ended by BEL), an 8-bit CSI (U+009B) turning text red,
 * a right-to-left override, a carriage return that overwrites the line, and a backspace.
 */
const HOSTILE =
  "Trim \u001b[2J\u001b[H the \u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007 input \u009b31m red \u202eevil\u202c \r over\b!";
/** The same title as the CLI prints it: every control shown as its escape, the words readable. */
const SHOWN =
  "Trim \\u001b[2J\\u001b[H the \\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\u0007 input \\u009b31m red \\u202eevil\\u202c \\u000d over\\u0008!";

const BIDI = [
  0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068,
  0x2069,
];

/** Characters a terminal acts on that reached the output (newline and tab are text). */
function rawControls(text: string): string[] {
  return [...text]
    .filter((char) => {
      const code = char.codePointAt(0) ?? 0;
      if (code < 0x20) return code !== 0x09 && code !== 0x0a;
      return (code >= 0x7f && code <= 0x9f) || BIDI.includes(code);
    })
    .map((char) => `U+${(char.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`);
}

function expectTerminalSafe(result: { out: string; err: string }): void {
  expect(rawControls(result.out)).toEqual([]);
  expect(rawControls(result.err)).toEqual([]);
}

function hostileIssue(): string {
  return tempFile("issue.json", JSON.stringify({ number: 7, title: HOSTILE, body: `Body: ${HOSTILE}` }));
}

describe("terminal-safe text", () => {
  it("shows every C0 control but tab and newline, DEL and every C1 control as its escape", () => {
    for (let code = 0; code <= 0x9f; code++) {
      if (code >= 0x20 && code < 0x7f) continue;
      const char = String.fromCharCode(code);
      const expected = code === 0x09 || code === 0x0a ? char : `\\u${code.toString(16).padStart(4, "0")}`;
      expect(terminalSafe(`a${char}b`), `U+${code.toString(16)}`).toBe(`a${expected}b`);
    }
  });

  it("shows bidi controls and the line and paragraph separators as escapes", () => {
    for (const code of BIDI) {
      expect(terminalSafe(`x${String.fromCharCode(code)}y`)).toBe(
        `x\\u${code.toString(16).padStart(4, "0")}y`,
      );
    }
  });

  it("leaves ordinary text as it is, and escaping twice changes nothing more", () => {
    for (const text of [
      "plain ASCII, with \\ backslashes and \\u001b written out",
      "line one\n\tline two",
      "café, naïve, ﬁle, Код, Ωμέγα, 代码, שלום, مرحبا",
      "👩‍💻 🏳️‍🌈 ✓ ✗ ▸ ⏸ · — …",
    ]) {
      expect(terminalSafe(text)).toBe(text);
    }
    expect(terminalSafe(terminalSafe(HOSTILE))).toBe(terminalSafe(HOSTILE));
    expect(terminalSafe(HOSTILE)).toBe(SHOWN);
  });
});

describe("the CLI prints no terminal control from untrusted text", () => {
  it("run and status on a local repository show the issue title escaped", async () => {
    const repo = tempRepo();
    const run = await cli(
      "run",
      tempFile("p.yml", SMALL_PIPELINE),
      "--issue",
      hostileIssue(),
      "--repo",
      repo,
    );
    expect(run.code).toBe(0);
    expectTerminalSafe(run);
    expect(run.out).toContain(`issue #7 "${SHOWN}"`);
    const id = /run (run-\d+-[0-9a-f]{6})/.exec(run.out)?.[1] ?? "";

    const list = await cli("status", "--repo", repo);
    expectTerminalSafe(list);
    expect(list.out).toContain(`#7 ${SHOWN}`);

    const one = await cli("status", id, "--repo", repo);
    expect(one.code).toBe(0);
    expectTerminalSafe(one);
  });

  it("status on the app's database shows a title and a failure reason that came from GitHub escaped", async () => {
    const app = await startApp();
    githubApi()
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
    githubApi()
      .get(`/repos/${OWNER}/${REPO}/contents/.github%2Fatomic-scrum.yml`)
      .query({ ref: "master" })
      .reply(404, { message: "Not Found" });
    githubApi()
      .get(`/repos/${OWNER}/${REPO}/collaborators/Codertocat/permission`)
      .reply(200, { permission: "write", role_name: "write", user: { login: "Codertocat" } });
    const payload = labeledPayload() as { issue: { title: string } };
    payload.issue.title = HOSTILE;
    expect((await app.deliver(payload)).status).toBe(200);
    const [queued] = listRuns(app.db);
    if (!queued) throw new Error("the delivery queued no run");
    // A run fails with the words of whatever failed: here a provider error quoting the title.
    const failed = { ...queued.state, status: "failed" as const, reason: `provider said: ${HOSTILE}` };
    expect(saveRunState(app.db, queued.id, failed, queued.state.seq, 1)).toBe(true);
    const dbPath = app.db.name;
    await app.close();

    const list = await cli("status", "--repo", tempRepo(), "--db", dbPath);
    expect(list.code).toBe(0);
    expectTerminalSafe(list);
    expect(list.out).toContain(`#1 ${SHOWN}`);

    const one = await cli("status", queued.id, "--repo", tempRepo(), "--db", dbPath);
    expect(one.code).toBe(0);
    expectTerminalSafe(one);
    expect(one.out).toContain("provider said: Trim \\u001b[2J");
  });

  it("breakers lists a task type holding controls escaped, its columns still aligned", async () => {
    const path = join(tempDir(), "app.db");
    const db = openDatabase(path);
    const now = Date.now();
    // Task types are a closed list in pipelines; the table is what is tested, whatever its cells hold.
    const key = { provider: "anthropic", model: "claude-haiku-5-5" };
    saveBreaker(
      db,
      { ...key, task: `write${HOSTILE}` as "write", tier: "fast" },
      { state: "open", failures: [now], openedAt: now },
      now,
    );
    saveBreaker(db, { ...key, task: "code", tier: "balanced" }, { state: "closed", failures: [now] }, now);
    db.close();
    const result = await cli("breakers", "--db", path);
    expect(result.code).toBe(0);
    expectTerminalSafe(result);
    const lines = result.out.split("\n");
    const header = lines.find((line) => line.startsWith("PROVIDER")) ?? "";
    const hostile = lines.find((line) => line.includes(` write${SHOWN}`)) ?? "";
    const plain = lines.find((line) => line.includes(" code ")) ?? "";
    expect(hostile.indexOf(" fast ") + 1).toBe(header.indexOf("TIER"));
    expect(plain.indexOf("balanced")).toBe(header.indexOf("TIER"));
  });

  it.each<[string, (repo: string) => string[]]>([
    ["a refused run id", (repo) => ["status", `run-1-${HOSTILE}`, "--repo", repo]],
    [
      "an issue file that cannot be read",
      (repo) => ["run", "coding", "--issue", `/nonexistent/${HOSTILE}.md`, "--repo", repo],
    ],
    ["an unknown command (commander's own error)", () => [`stat${HOSTILE}`]],
    ["an unknown option (commander's own error)", (repo) => ["status", `--${HOSTILE}`, "--repo", repo]],
    ["a pipeline file that does not exist", () => ["validate", `/nonexistent/${HOSTILE}.yml`]],
  ])("%s is printed escaped", async (_name, args) => {
    const result = await cli(...args(tempRepo()));
    expect(result.code).not.toBe(0);
    expectTerminalSafe(result);
    expect(`${result.out}\n${result.err}`).toContain("Trim \\u001b[2J\\u001b[H the \\u001b]52;c;");
  });
});
