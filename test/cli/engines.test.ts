import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

// Issue 12: `npm ci` warned EBADENGINE because a locked package (content-type 3, through
// @octokit/request) needs Node 22 while package.json promises less. Every package npm installs
// from the lockfile must accept the oldest Node we promise.

const ROOT = resolve(import.meta.dirname, "../..");

type Version = [number, number, number];
type Comparator = { op: "<" | "<=" | ">" | ">=" | "="; version: Version };

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** `20`, `20.18`, `20.18.1`, `20.x`: the numbers given (an `x` or `*` ends them). */
function partial(text: string, range: string): number[] {
  const match = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/.exec(text);
  if (!match) throw new Error(`cannot read version "${text}" in engines range "${range}"`);
  const parts: number[] = [];
  for (const part of match.slice(1)) {
    if (part === undefined || /[xX*]/.test(part)) break;
    parts.push(Number(part));
  }
  return parts;
}

const full = (parts: number[]): Version => [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];

/** The version just past every version `parts` stands for: `20.18` → 20.19.0, `20` → 21.0.0. */
function after(parts: number[]): Version {
  const next = parts.slice();
  next[next.length - 1] = (next[next.length - 1] as number) + 1;
  return full(next);
}

/** One range of the forms npm's engines use: the `semver` package's rules, without prereleases. */
function comparators(set: string, range: string): Comparator[] {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(set);
  if (hyphen) {
    const to = partial(hyphen[2] as string, range);
    const upper: Comparator =
      to.length === 3 ? { op: "<=", version: full(to) } : { op: "<", version: after(to) };
    return [{ op: ">=", version: full(partial(hyphen[1] as string, range)) }, upper];
  }
  const out: Comparator[] = [];
  for (const token of set
    .replace(/([<>=~^]+)\s+/g, "$1")
    .split(/\s+/)
    .filter(Boolean)) {
    const [, op = "", rest = ""] = /^([<>]=?|=|\^|~)?(.*)$/.exec(token) ?? [];
    const parts = partial(rest, range);
    if (parts.length === 0) {
      if (op === "<") out.push({ op: "<", version: [0, 0, 0] });
      continue; // `*`, `x`, `>=x`: any version
    }
    if (op === "^") {
      const first = parts.findIndex((n, i) => n !== 0 || i === parts.length - 1);
      out.push({ op: ">=", version: full(parts) }, { op: "<", version: after(parts.slice(0, first + 1)) });
    } else if (op === "~") {
      out.push({ op: ">=", version: full(parts) }, { op: "<", version: after(parts.slice(0, 2)) });
    } else if (op === ">" && parts.length < 3) {
      out.push({ op: ">=", version: after(parts) });
    } else if (op === "<=" && parts.length < 3) {
      out.push({ op: "<", version: after(parts) });
    } else if ((op === "" || op === "=") && parts.length < 3) {
      out.push({ op: ">=", version: full(parts) }, { op: "<", version: after(parts) });
    } else {
      out.push({ op: (op || "=") as Comparator["op"], version: full(parts) });
    }
  }
  return out;
}

/** Whether `version` satisfies an `engines.node` range; throws on syntax it does not know. */
function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((set) =>
    comparators(set.trim(), range).every(({ op, version: bound }) => {
      const c = compare(version, bound);
      return { "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0, "=": c === 0 }[op];
    }),
  );
}

interface LockedPackage {
  version?: string;
  optional?: boolean;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(resolve(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, LockedPackage>;
};

describe("the Node versions we promise", () => {
  it("reads engines ranges as semver does", () => {
    const v = (text: string) => full(partial(text, text));
    expect(satisfies(v("20.18.0"), "^20.18.1 || >= 22")).toBe(false);
    expect(satisfies(v("20.18.1"), "^20.18.1 || >= 22")).toBe(true);
    expect(satisfies(v("21.0.0"), "^20.18.1 || >= 22")).toBe(false);
    expect(satisfies(v("22.0.0"), "^20.18.1 || >= 22")).toBe(true);
    expect(satisfies(v("20.18.1"), ">=22")).toBe(false);
    expect(satisfies(v("20.18.1"), "^22.20 || ^24.12 || >=25")).toBe(false);
    expect(satisfies(v("24.12.0"), "^22.20 || ^24.12 || >=25")).toBe(true);
    expect(satisfies(v("20.18.1"), "20.x || 22.x")).toBe(true);
    expect(satisfies(v("20.18.1"), "^12.22.0 || ^14.16.0 || ^16.0.0 || >=17.0.0")).toBe(true);
    expect(satisfies(v("20.18.1"), "~20.17")).toBe(false);
    expect(satisfies(v("20.18.1"), "18 - 20")).toBe(true);
    expect(satisfies(v("20.18.1"), ">14 <20")).toBe(false);
    expect(satisfies(v("20.18.1"), "*")).toBe(true);
    expect(satisfies(v("0.3.0"), "^0.2.1")).toBe(false);
    expect(() => satisfies(v("20.18.1"), ">=node20")).toThrow('cannot read version "node20"');
  });

  it("package.json promises one floor (>=X.Y.Z) that the lockfile is checked against", () => {
    expect(pkg.engines.node).toMatch(/^>=\d+(\.\d+){0,2}$/);
  });

  it("every package npm installs from the lockfile accepts the oldest Node package.json promises", () => {
    const floor = full(partial(pkg.engines.node.slice(2), pkg.engines.node));
    const excluded = Object.entries(lock.packages)
      // An optional package whose engines exclude this Node is left out by npm, silently and by
      // design (rollup's platform binaries): it cannot warn or break an install.
      .filter(([, locked]) => !locked.optional)
      .flatMap(([path, locked]) => {
        const range = Array.isArray(locked.engines) ? undefined : locked.engines?.node;
        if (!range || satisfies(floor, range)) return [];
        return [`${path || "atomic-scrum"}@${locked.version}: engines.node "${range}"`];
      });
    expect(excluded, `Node ${floor.join(".")} is excluded by`).toEqual([]);
  });
});
