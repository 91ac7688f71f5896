import { posix } from "node:path";
import { oneLine, slugify } from "../../util/text.js";
import type { CallPurpose } from "../provider.js";
import {
  extOf,
  isTestPath,
  LANGUAGE_OF,
  type Language,
  type Repository,
  readRepository,
} from "./read-repository.js";
import { asksForTests, namedPlaces, type Place } from "./read-request.js";

type AgentPurpose = Extract<CallPurpose, { kind: "agent" }>;
interface FileEdit {
  summary: string;
  files: { path: string; content: string }[];
}

const EXT_OF: Record<Language, string> = {
  typescript: ".ts",
  javascript: ".js",
  python: ".py",
  go: ".go",
  rust: ".rs",
};

/** Where tests go when the repository shows none; Go keeps them beside the code. */
const TEST_DIR: Record<Language, string | undefined> = {
  typescript: "test/",
  javascript: "test/",
  python: "tests/",
  rust: "tests/",
  go: undefined,
};

/**
 * A files-phase answer: where the prompt names places to write, there; otherwise in the
 * repository's own layout and language, read off the files the prompt carries. A phase named for
 * tests writes only a test; another writes the source, and a test too when the prompt asks for one.
 * A prompt that names only documents (or a mechanical phase with only documents to read) edits them.
 */
export function writeCode(purpose: AgentPurpose, prompt: string, context: string): FileEdit {
  const repo = readRepository(`${context}\n${prompt}`);
  const named = namedPlaces(prompt);
  const docs = named.filter(isDocument);
  const onlyDocs =
    named.length > 0 ? docs.length === named.length : purpose.task === "mechanical" && !hasCode(repo);
  if (onlyDocs) return editDocuments(purpose, repo, docs);
  const slug = slugify(purpose.issue.title) || "change";
  const source = pick(
    named.filter((p) => !p.tests && !isDocument(p)),
    repo,
    repo.sourceDir ?? "src/",
  );
  // A later phase (fix, tests) finds the file an earlier one wrote for this issue and keeps to it.
  const existing = repo.files.find(
    (file) =>
      LANGUAGE_OF[extOf(file.path)] !== undefined &&
      !isTestPath(file.path) &&
      [slug, slug.replace(/-/g, "_")].includes(posix.basename(file.path, extOf(file.path))),
  );
  const ext = existing
    ? extOf(existing.path)
    : (source.ext ?? EXT_OF[LANGUAGE_OF[source.ext ?? ""] ?? repo.language]);
  const language = LANGUAGE_OF[ext] ?? repo.language;
  const sourcePath = existing?.path ?? `${source.dir}${baseName(slug, language)}${ext}`;
  const testsOnly = /test/.test(purpose.phaseId);
  const files: FileEdit["files"] = [];
  if (!testsOnly) files.push({ path: sourcePath, content: sourceFile(purpose, language, slug, repo) });
  if (testsOnly || asksForTests(prompt)) {
    const fallback = repo.testDir ?? TEST_DIR[language] ?? source.dir;
    const place = pick(
      named.filter((p) => p.tests),
      repo,
      fallback,
    );
    const testPath = testPathFor(place, slug, language, ext, repo);
    files.push({ path: testPath, content: testFile(purpose, language, slug, repo, testPath, sourcePath) });
  }
  const what = testsOnly
    ? `Adds tests for ${camel(slug)}`
    : `${purpose.phaseName}: ${oneLine(purpose.issue.title)}`;
  return { summary: `${what} (simulated, attempt ${purpose.attempt}).`, files };
}

function isDocument(place: Place): boolean {
  return place.ext === ".md" || (place.ext === undefined && /^docs?\//.test(place.dir));
}

function hasCode(repo: Repository): boolean {
  return repo.files.some((file) => LANGUAGE_OF[extOf(file.path)] !== undefined);
}

/** The named place that exists in the repository, else the first named, else the fallback. */
function pick(places: Place[], repo: Repository, fallback: string): Place {
  const exists = places.find((p) => p.dir !== "" && repo.files.some((file) => file.path.startsWith(p.dir)));
  const chosen = exists ?? places.find((p) => p.dir !== "") ?? places[0];
  if (!chosen) return { dir: fallback, tests: false };
  return chosen.dir === "" && !chosen.file ? { ...chosen, dir: fallback } : chosen;
}

function baseName(slug: string, language: Language): string {
  return language === "typescript" || language === "javascript" ? slug : slug.replace(/-/g, "_");
}

function camel(slug: string): string {
  const name = slug.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return /^[a-z]/.test(name) ? name : `change${name}`;
}

function functionName(slug: string, language: Language): string {
  const snake = slug.replace(/-/g, "_");
  if (language === "python" || language === "rust") return /^[a-z]/.test(snake) ? snake : `change_${snake}`;
  const name = camel(slug);
  return language === "go" ? name.charAt(0).toUpperCase() + name.slice(1) : name;
}

function testPathFor(place: Place, slug: string, language: Language, ext: string, repo: Repository): string {
  if (place.file) return place.file;
  const base = baseName(slug, language);
  const testExt = place.ext ?? ext;
  if (language === "go") return `${place.dir}${base}_test.go`;
  if (language === "python") return `${place.dir}test_${base}.py`;
  if (language === "rust") return `${place.dir}${base}.rs`;
  return `${place.dir}${base}.${repo.testName === "spec" ? "spec" : "test"}${testExt}`;
}

function goPackage(dir: string, repo: Repository): string {
  const existing = repo.files.find((file) => file.path.startsWith(dir) && file.path.endsWith(".go"));
  const declared = existing && /^package (\w+)/m.exec(existing.content)?.[1];
  if (declared) return declared.replace(/_test$/, "");
  const last = dir.replace(/\/$/, "").split("/").pop();
  return last && /^[a-z]\w*$/.test(last) ? last : "main";
}

function sourceFile(purpose: AgentPurpose, language: Language, slug: string, repo: Repository): string {
  const fn = functionName(slug, language);
  const collapse = purpose.phaseId.includes("fix");
  const header = `Simulated change for #${purpose.issue.number}: ${oneLine(purpose.issue.title)}; written offline by the simulated provider (phase ${purpose.phaseId}), no model was called.`;
  if (language === "python") {
    const body = collapse ? '" ".join(text.split())' : "text.strip()";
    return `# ${header}\n\n\ndef ${fn}(text: str) -> str:\n    """Normalises the input the way issue #${purpose.issue.number} asks."""\n    if not isinstance(text, str):\n        raise TypeError("text must be a string")\n    return ${body}\n`;
  }
  if (language === "go") {
    const body = collapse ? 'strings.Join(strings.Fields(input), " ")' : "strings.TrimSpace(input)";
    return `// ${header}\npackage ${goPackage(repo.sourceDir ?? "", repo)}\n\nimport "strings"\n\n// ${fn} normalises the input the way issue #${purpose.issue.number} asks.\nfunc ${fn}(input string) string {\n\treturn ${body}\n}\n`;
  }
  if (language === "rust") {
    const body = collapse
      ? 'input.split_whitespace().collect::<Vec<_>>().join(" ")'
      : "input.trim().to_string()";
    return `// ${header}\n\n/// Normalises the input the way issue #${purpose.issue.number} asks.\npub fn ${fn}(input: &str) -> String {\n    ${body}\n}\n`;
  }
  const typed = language === "typescript";
  const body = collapse ? '  return input.trim().replace(/\\s+/g, " ");' : "  return input.trim();";
  const cjs = !typed && repo.module === "cjs";
  return [
    `// ${header}`,
    "",
    `/** Normalises the input the way issue #${purpose.issue.number} asks. */`,
    `${cjs ? "" : "export "}function ${fn}(input${typed ? ": string" : ""})${typed ? ": string" : ""} {`,
    '  if (typeof input !== "string") throw new TypeError("input must be a string");',
    body,
    "}",
    ...(cjs ? ["", `module.exports = { ${fn} };`] : []),
    "",
  ].join("\n");
}

function testFile(
  purpose: AgentPurpose,
  language: Language,
  slug: string,
  repo: Repository,
  testPath: string,
  sourcePath: string,
): string {
  const fn = functionName(slug, language);
  const header = `Simulated tests for #${purpose.issue.number}; no model was called.`;
  if (language === "python") {
    const module = sourcePath
      .replace(/^src\//, "")
      .replace(/\.py$/, "")
      .replace(/\//g, ".");
    return `# ${header}\nfrom ${module} import ${fn}\n\n\ndef test_trims_surrounding_whitespace():\n    assert ${fn}("  a  ") == "a"\n`;
  }
  if (language === "go") {
    return `// ${header}\npackage ${goPackage(posix.dirname(testPath) === "." ? "" : `${posix.dirname(testPath)}/`, repo)}\n\nimport "testing"\n\nfunc Test${fn}TrimsSurroundingWhitespace(t *testing.T) {\n\tif got := ${fn}("  a  "); got != "a" {\n\t\tt.Fatalf("got %q, want %q", got, "a")\n\t}\n}\n`;
  }
  if (language === "rust") {
    const module = posix.basename(sourcePath, ".rs");
    return `// ${header}\nuse ${repo.packageName ?? "app"}::${module}::${fn};\n\n#[test]\nfn trims_surrounding_whitespace() {\n    assert_eq!(${fn}("  a  "), "a");\n}\n`;
  }
  let from = posix.relative(posix.dirname(testPath), sourcePath);
  if (!from.startsWith(".")) from = `./${from}`;
  from = from.replace(/\.ts$/, ".js");
  const cjs = language === "javascript" && repo.module === "cjs";
  const load = (names: string, module: string) =>
    cjs ? `const ${names} = require("${module}");` : `import ${names} from "${module}";`;
  const imports: string[] = [];
  const check =
    repo.tests === "vitest" || repo.tests === "jest"
      ? `expect(${fn}("  a  ")).toBe("a");`
      : `assert.equal(${fn}("  a  "), "a");`;
  if (repo.tests === "vitest") imports.push('import { describe, expect, it } from "vitest";');
  if (repo.tests === "node:test") imports.push(load("{ describe, it }", "node:test"));
  if (repo.tests === "node:test" || repo.tests === "mocha")
    imports.push(load("assert", "node:assert/strict"));
  imports.push(load(`{ ${fn} }`, from));
  return [
    `// ${header}`,
    ...imports,
    "",
    `describe("${fn}", () => {`,
    '  it("trims surrounding whitespace", () => {',
    `    ${check}`,
    "  });",
    "});",
    "",
  ].join("\n");
}

const MISSPELLINGS: Record<string, string> = {
  teh: "the",
  recieve: "receive",
  seperate: "separate",
  occured: "occurred",
  definately: "definitely",
  wich: "which",
  adress: "address",
  enviroment: "environment",
  accross: "across",
  untill: "until",
  lenght: "length",
  documenation: "documentation",
};

/** Fixes common misspellings in the named documents the context holds; changes nothing else. */
function editDocuments(purpose: AgentPurpose, repo: Repository, places: Place[]): FileEdit {
  const wanted = (path: string) =>
    path.endsWith(".md") &&
    (places.length === 0 ||
      places.some((p) =>
        p.file ? p.file === path : path.startsWith(p.dir) && (!p.ext || path.endsWith(p.ext)),
      ));
  const files: FileEdit["files"] = [];
  let fixes = 0;
  for (const file of repo.files.filter((f) => wanted(f.path))) {
    const content = file.content.replace(/\b[A-Za-z]+\b/g, (word) => {
      const right = MISSPELLINGS[word.toLowerCase()];
      if (!right) return word;
      fixes++;
      return word[0] === word[0]?.toUpperCase() ? right[0]?.toUpperCase() + right.slice(1) : right;
    });
    if (content !== file.content) files.push({ path: file.path, content });
  }
  const summary =
    files.length > 0
      ? `Fixed ${fixes} spelling mistake(s) in ${files.map((f) => f.path).join(", ")} (simulated, attempt ${purpose.attempt}).`
      : `No spelling mistakes found in the files given; nothing changed (simulated, attempt ${purpose.attempt}).`;
  return { summary, files };
}
