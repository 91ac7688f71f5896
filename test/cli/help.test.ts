import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli as cli } from "../helpers/cli.js";

// Issue 12: `resume`/`approve`/`cancel --help` showed a `--provider` default that those commands
// never use (a run keeps the provider it was started with), and `--version` was an unknown option.

const ROOT = resolve(import.meta.dirname, "../..");

/** The help of one option: its line and the lines it wraps onto, as one line. */
function optionHelp(help: string, flag: string): string {
  const start = help.indexOf(`  ${flag} `);
  if (start < 0) return "";
  const rest = help.slice(start + 2);
  const next = rest.search(/\n {2}-/);
  return (next < 0 ? rest : rest.slice(0, next)).replace(/\s+/g, " ");
}

describe("atomic-scrum <command> --help", () => {
  it("run shows --provider with its default, simulated", async () => {
    const { code, out } = await cli("run", "--help");
    expect(code).toBe(0);
    expect(optionHelp(out, "--provider <name>")).toContain('default: "simulated"');
    expect(out).toContain("--fixtures <file>");
  });

  it.each(["resume", "approve", "retry"])(
    "%s shows --provider only as what it is: for an older run with none recorded, with no default",
    async (command) => {
      const { code, out } = await cli(command, "--help");
      expect(code).toBe(0);
      const provider = optionHelp(out, "--provider <name>");
      expect(provider).toContain("a run keeps the provider it was started with");
      expect(provider).not.toContain("default:");
      expect(out).toContain("--no-wait");
    },
  );

  it.each(["resume", "approve"])(
    "%s shows --settings as what it is: the run keeps its own, the file is read only for an older run",
    async (command) => {
      const settings = optionHelp((await cli(command, "--help")).out, "--settings <file>");
      expect(settings).toContain("a run keeps the settings it started with");
      expect(settings).toContain("retry");
    },
  );

  it("retry shows --settings as the file the run takes from the retry on", async () => {
    const settings = optionHelp((await cli("retry", "--help")).out, "--settings <file>");
    expect(settings).toContain("from this retry on");
  });

  it.each(["cancel", "status"])("%s shows no provider, fixtures or cooldown options", async (command) => {
    const { code, out } = await cli(command, "--help");
    expect(code).toBe(0);
    expect(out).toContain("--repo <dir>");
    for (const flag of ["--provider", "--fixtures", "--no-wait", "--settings"])
      expect(out).not.toContain(flag);
  });

  it("cancel refuses --provider by name, with commander's one line", async () => {
    const { code, err } = await cli("cancel", "run-1-abcdef", "--provider", "anthropic");
    expect(code).toBe(1);
    expect(err).toBe("error: unknown option '--provider'");
  });
});

describe("atomic-scrum --version", () => {
  const version = (JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as { version: string })
    .version;

  it.each(["--version", "-V"])("%s prints the version package.json holds, and exits 0", async (flag) => {
    const { code, out, err } = await cli(flag);
    expect({ code, out, err }).toEqual({ code: 0, out: version, err: "" });
  });

  it("is listed in the help", async () => {
    expect((await cli("--help")).out).toMatch(/-V, --version +print the version of atomic-scrum/);
  });
});
