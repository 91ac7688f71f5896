import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KEY_VARIABLES, OPENAI_BASE_URL_VARIABLE } from "../../src/providers/registry.js";

// docs/serve.md promises every environment variable `atomic-scrum serve` reads, with where it is
// read. This scans the code the server runs (src/app.ts and everything it imports, the `serve`
// command of src/cli.ts) and the Probot files on its path, and checks the table both ways: a
// read missing from the table fails, and so does a row whose "Read in" file does not read it.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const doc = readFileSync(join(ROOT, "docs/serve.md"), "utf8");

/** The Probot files `serve` runs that read variables (createProbot, the setup flow, the key). */
const PROBOT_FILES = [
  "node_modules/probot/lib/create-probot.js",
  "node_modules/probot/lib/apps/setup.js",
  "node_modules/probot/lib/manifest-creation.js",
  "node_modules/probot/lib/helpers/is-production.js",
  "node_modules/@probot/get-private-key/dist-src/index.js",
];

/** Files that read a variable whose name is computed: the names they can read. */
const COMPUTED: Record<string, string[]> = {
  "src/providers/registry.ts": [...Object.values(KEY_VARIABLES).flat(), OPENAI_BASE_URL_VARIABLE],
  "src/local/dry-run/pricing.ts": [OPENAI_BASE_URL_VARIABLE],
  "src/app.ts": [OPENAI_BASE_URL_VARIABLE],
};

const NAME = "[A-Z][A-Z0-9_]*|npm_[a-z_]+";
/** An environment object: `process.env`, or a name ending in `env`/`Env` (`env`, `rawEnv`, `envWithDefaults`). */
const ENV = String.raw`(?:process\.env|\b(?:[A-Za-z_$][\w$]*?)?[eE]nv(?:WithDefaults)?)`;

interface Read {
  name: string;
  file: string;
}

/** Every variable `text` reads by a name written out, and whether it reads one by a computed name. */
function scanReads(text: string): { names: Set<string>; computed: boolean } {
  const names = new Set<string>();
  for (const m of text.matchAll(new RegExp(String.raw`${ENV}\??\.(${NAME})\b`, "g")))
    names.add(m[1] as string);
  for (const m of text.matchAll(new RegExp(String.raw`${ENV}\??\.?\[\s*["'\`](${NAME})["'\`]\s*\]`, "g")))
    names.add(m[1] as string);
  for (const m of text.matchAll(/(?:const|let|var)\s*\{([^}]*)\}\s*=\s*process\.env\b/g))
    for (const part of (m[1] as string).split(",")) {
      const name = part.split(":")[0]?.trim() ?? "";
      if (new RegExp(`^(?:${NAME})$`).test(name)) names.add(name);
    }
  // `env[name] = value` builds an environment (for a subprocess): a write, not a read.
  const computed = new RegExp(String.raw`${ENV}\??\.?\[\s*[A-Za-z_$][^\]]*\](?!\s*=[^=])`).test(text);
  return { names, computed };
}

/** src/app.ts and every file it imports, transitively: the code `serve` runs. */
function serverFiles(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const m of text.matchAll(/(?:from|import\()\s*["'](\.{1,2}\/[^"']+)\.js["']/g)) {
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), `${m[1]}.ts`));
      if (existsSync(join(ROOT, target))) visit(target);
    }
  };
  visit("src/app.ts");
  return [...seen].sort();
}

/** The `serve` command of the CLI: the rest of src/cli.ts is the local commands'. */
function serveCommandText(): string {
  const cli = readFileSync(join(ROOT, "src/cli.ts"), "utf8");
  const start = cli.indexOf('.command("serve")');
  const end = cli.indexOf(".command(", start + 1);
  expect(start, 'src/cli.ts has a .command("serve")').toBeGreaterThan(0);
  return cli.slice(start, end === -1 ? undefined : end);
}

/** What the code on serve's path reads, file by file. */
function codeReads(): Read[] {
  const reads: Read[] = [];
  const add = (file: string, text: string) => {
    const { names, computed } = scanReads(text);
    if (computed && !COMPUTED[file])
      throw new Error(`${file} reads a variable by a computed name: list its names in COMPUTED`);
    for (const name of [...names, ...(COMPUTED[file] ?? [])]) reads.push({ name, file });
  };
  for (const file of serverFiles()) add(file, readFileSync(join(ROOT, file), "utf8"));
  add("src/cli.ts", serveCommandText());
  for (const file of PROBOT_FILES) add(file, readFileSync(join(ROOT, file), "utf8"));
  return reads;
}

/** The rows of the table under "## Environment variables": name and its "Read in" files. */
function tableRows(): Read[] {
  const section = doc.slice(doc.indexOf("## Environment variables"));
  const rows: Read[] = [];
  for (const line of section.split("\n")) {
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const name = /^`([^`]+)`$/.exec(cells[1] ?? "")?.[1];
    if (!name || cells.length < 6) continue;
    for (const file of (cells[4] ?? "").matchAll(/`([^`]+)`/g)) rows.push({ name, file: file[1] as string });
  }
  return rows;
}

const key = (read: Read) => `${read.name} in ${read.file}`;

describe("docs/serve.md > environment variables", () => {
  const code = codeReads();
  const table = tableRows();

  it("the scan finds what serve is known to read (a scan that finds nothing would pass everything)", () => {
    const names = new Set(code.map((read) => read.name));
    for (const name of [
      "APP_ID",
      "ATOMIC_SCRUM_DB",
      "ATOMIC_SCRUM_SETTINGS",
      "ANTHROPIC_API_KEY",
      "NO_SMEE_SETUP",
    ])
      expect(names).toContain(name);
    expect(serverFiles()).toContain("src/github/read-probot-env.ts");
    expect(table.length).toBeGreaterThan(30);
  });

  it("every variable the server's code reads is in the table, with the file that reads it", () => {
    const listed = new Set(table.map(key));
    expect(code.map(key).filter((read) => !listed.has(read))).toEqual([]);
  });

  it("every row's 'Read in' file really reads the variable", () => {
    const read = new Set(code.map(key));
    const wrong = table.filter((row) => {
      if (read.has(key(row))) return false;
      // Library files outside the scan (the model SDKs): the name must at least be read there.
      if (row.file.startsWith("src/") || PROBOT_FILES.includes(row.file)) return true;
      const path = join(ROOT, row.file);
      return (
        !existsSync(path) || !new RegExp(`["'.]${row.name}(?:["']|\\b)`).test(readFileSync(path, "utf8"))
      );
    });
    expect(wrong.map(key)).toEqual([]);
  });

  it("each variable has one row", () => {
    const names = tableRows().map((row) => row.name);
    const rows = doc
      .slice(doc.indexOf("## Environment variables"))
      .split("\n")
      .map((line) => /^\| `([^`]+)` \|/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    expect(rows.length).toBe(new Set(rows).size);
    expect(new Set(names)).toEqual(new Set(rows));
  });

  it("the scanner sees each way code reads a variable, and a computed name", () => {
    const { names, computed } = scanReads(
      'process.env.A_1; env.B; rawEnv?.C; env["D"]; envWithDefaults.E; const { F, G: g } = process.env; env.appId; env.npm_lifecycle_event',
    );
    expect([...names].sort()).toEqual(["A_1", "B", "C", "D", "E", "F", "G", "npm_lifecycle_event"]);
    expect(computed).toBe(false);
    expect(scanReads("env[variable]?.trim()").computed).toBe(true);
    expect(scanReads("if (ok) env[name] = value;").computed).toBe(false);
  });
});

describe("README > Run it as a GitHub App", () => {
  it("links to docs/serve.md", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Run it as a GitHub App"));
    expect(section.slice(0, section.indexOf("\n## ", 1))).toContain("(docs/serve.md");
  });
});
