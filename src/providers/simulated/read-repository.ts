import { UNTRUSTED_BLOCK } from "../../engine/template-context.js";

export type Language = "typescript" | "javascript" | "python" | "go" | "rust";
export type TestFramework = "vitest" | "jest" | "mocha" | "node:test" | "pytest" | "go" | "cargo";

/**
 * What the repository files a prompt carries say about the project: its language, module
 * system and test framework, and where it keeps source and tests. Read only from the files in the
 * context blocks, as a model would; nothing known gives TypeScript and vitest in `src/` and `test/`.
 */
export interface Repository {
  language: Language;
  module: "esm" | "cjs";
  tests: TestFramework;
  /** The directory that holds source files, with its slash (`lib/`), when files show one. */
  sourceDir?: string;
  /** The directory that holds tests, with its slash, when files show one. */
  testDir?: string;
  /** How test files are named: `x.test.js`, `x.spec.ts`, `test_x.py`, `x_test.go`. */
  testName?: "test" | "spec" | "prefix";
  /** The crate or module name, for Rust and Go imports. */
  packageName?: string;
  files: { path: string; content: string }[];
}

/** The language of a file, by its extension. */
export const LANGUAGE_OF: Record<string, Language> = {
  ".ts": "typescript",
  ".tsx": "typescript",
  ".mts": "typescript",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".jsx": "javascript",
  ".py": "python",
  ".go": "go",
  ".rs": "rust",
};

const TEST_FILE =
  /(?:^|\/)(?:tests?|spec|__tests__)\/|\.(?:test|spec)\.[a-z]+$|_test\.(?:go|py)$|(?:^|\/)test_[^/]*\.py$/;

/** Whether a path is a test file by the usual conventions (`test/`, `x.test.js`, `test_x.py`, `x_test.go`). */
export function isTestPath(path: string): boolean {
  return TEST_FILE.test(path);
}

/** The files of the prompt's `file:` blocks (the repository context), in order. */
export function contextFiles(text: string): { path: string; content: string }[] {
  return [...text.matchAll(UNTRUSTED_BLOCK)]
    .filter((m) => (m[2] ?? "").startsWith("file:"))
    .map((m) => ({ path: (m[2] ?? "").slice("file:".length), content: m[3] ?? "" }));
}

export function readRepository(text: string): Repository {
  const files = contextFiles(text);
  const byPath = new Map(files.map((file) => [file.path, file.content]));
  const repo: Repository = { language: "typescript", module: "esm", tests: "vitest", files };
  const code = files.filter((file) => LANGUAGE_OF[extOf(file.path)] !== undefined);
  const sources = code.filter((file) => !isTestPath(file.path));
  const tests = code.filter((file) => isTestPath(file.path));
  const languages = (sources.length > 0 ? sources : tests).map((file) => LANGUAGE_OF[extOf(file.path)]);
  const manifest = readManifest(byPath);
  repo.language = manifest.language ?? mostCommon(languages) ?? "typescript";
  if (repo.language === "javascript" || repo.language === "typescript") {
    const pkg = manifest.pkg;
    const syntax = code.map((file) => file.content).join("\n");
    // TypeScript is written as ESM whatever it compiles to; JavaScript follows package.json `type`.
    if (repo.language === "javascript" && (pkg ? pkg.type !== "module" : /\brequire\(/.test(syntax)))
      repo.module = "cjs";
    // Plain JavaScript with no framework in sight gets Node's own runner: it needs no dependency.
    repo.tests = jsTestFramework(pkg, tests) ?? (repo.language === "javascript" ? "node:test" : "vitest");
  } else {
    repo.tests = ({ python: "pytest", go: "go", rust: "cargo" } as const)[repo.language];
  }
  if (manifest.packageName) repo.packageName = manifest.packageName;
  const sourceDir = firstDir(sources);
  const testDir = firstDir(tests.filter((file) => file.path.includes("/")));
  if (sourceDir !== undefined) repo.sourceDir = sourceDir;
  if (testDir !== undefined) repo.testDir = testDir;
  const named = tests.map((file) => file.path);
  if (named.some((path) => /\.spec\.[a-z]+$/.test(path))) repo.testName = "spec";
  else if (named.some((path) => /(?:^|\/)test_[^/]*\.py$/.test(path))) repo.testName = "prefix";
  else if (named.length > 0) repo.testName = "test";
  return repo;
}

interface PackageJson {
  type?: string;
  scripts?: Record<string, string>;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

function readManifest(byPath: Map<string, string>): {
  language?: Language;
  pkg?: PackageJson;
  packageName?: string;
} {
  const cargo = byPath.get("Cargo.toml");
  if (cargo !== undefined)
    return {
      language: "rust",
      packageName: /^name\s*=\s*"([^"]+)"/m.exec(cargo)?.[1]?.replace(/-/g, "_") ?? "app",
    };
  const goMod = byPath.get("go.mod");
  if (goMod !== undefined)
    return { language: "go", packageName: /^module\s+(\S+)/m.exec(goMod)?.[1] ?? "app" };
  if (byPath.has("pyproject.toml") || byPath.has("setup.py") || byPath.has("pytest.ini"))
    return { language: "python" };
  const text = byPath.get("package.json");
  if (text === undefined) return byPath.has("tsconfig.json") ? { language: "typescript" } : {};
  let pkg: PackageJson = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") pkg = parsed as PackageJson;
  } catch {
    // A package.json that does not parse says nothing about the project.
  }
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  const typescript = byPath.has("tsconfig.json") || "typescript" in deps;
  return { language: typescript ? "typescript" : "javascript", pkg };
}

function jsTestFramework(
  pkg: PackageJson | undefined,
  tests: { content: string }[],
): TestFramework | undefined {
  const script = pkg?.scripts?.test ?? "";
  const deps = { ...pkg?.dependencies, ...pkg?.devDependencies };
  const existing = tests.map((file) => file.content).join("\n");
  if (/\bvitest\b/.test(script) || "vitest" in deps || /from ["']vitest["']/.test(existing)) return "vitest";
  if (/\bjest\b/.test(script) || "jest" in deps) return "jest";
  if (/\bmocha\b/.test(script) || "mocha" in deps) return "mocha";
  if (/node\s+(?:[^|&;]*\s)?--test\b/.test(script) || /["']node:test["']/.test(existing)) return "node:test";
  return undefined;
}

export function extOf(path: string): string {
  return /\.[a-z]+$/.exec(path)?.[0] ?? "";
}

function firstDir(files: { path: string }[]): string | undefined {
  const path = files.find((file) => file.path.includes("/"))?.path;
  return path === undefined ? undefined : `${path.split("/")[0]}/`;
}

function mostCommon<T>(values: (T | undefined)[]): T | undefined {
  const counts = new Map<T, number>();
  for (const value of values) if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}
