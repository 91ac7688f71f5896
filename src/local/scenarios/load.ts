import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { locatePath } from "../../pipeline/locate.js";
import { parseYamlConfig } from "../../pipeline/parse-config.js";
import { formatPath, type Problem } from "../../pipeline/problem.js";
import type { ResolvedPipeline } from "../../pipeline/resolved.js";
import type { Fixtures } from "../../providers/recorded.js";
import { cassetteProblems, expectProblems, type Layer } from "./check.js";
import { displayPath } from "./paths.js";
import { type ScenarioFile, ScenarioFileSchema, type ScenarioLoad } from "./schema.js";

const DEFAULT_FILES = { "README.md": "# sample\n\nA small project for a scenario test.\n" };

type Layers = { ok: true; layers: Layer[] } | { ok: false; problems: Problem[] };

/**
 * Reads a scenario file and the files it extends, and checks it against the pipeline: phase ids,
 * criterion names and gate names that do not exist are reported where they are written. Never
 * throws for a bad file.
 */
export function loadScenario(file: string, pipeline: ResolvedPipeline): ScenarioLoad {
  const read = readLayers(resolve(file), []);
  if (!read.ok) return read;
  const layers = read.layers;
  const own = layers.at(-1) as Layer;
  const problems = layers.flatMap((layer) => cassetteProblems(layer, pipeline));
  problems.push(...expectProblems(own, pipeline));
  const issue = [...layers].reverse().find((layer) => layer.value.issue)?.value.issue;
  if (!issue) problems.push(own.at([], 'missing required field "issue" (here or in the file it extends)'));
  if (problems.length > 0 || !issue) return { ok: false, problems };
  const last = <K extends keyof ScenarioFile>(key: K) =>
    [...layers].reverse().find((layer) => layer.value[key] !== undefined)?.value[key];
  const cassettes: Fixtures = {};
  for (const layer of layers) Object.assign(cassettes, layer.value.cassettes ?? {});
  return {
    ok: true,
    scenario: {
      file: own.file,
      name: own.value.name ?? basename(own.file, extname(own.file)),
      issue,
      files: last("files") ?? DEFAULT_FILES,
      approve: last("approve") ?? false,
      cassettes,
      expect: own.value.expect,
    },
  };
}

function readLayers(file: string, seen: string[]): Layers {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const message = `cannot read: ${(error as Error).message}`;
    return { ok: false, problems: [{ file: shown, line: 1, col: 1, path: "", message }] };
  }
  const parsed = parseYamlConfig(text, ScenarioFileSchema, shown);
  if (!parsed.ok) return parsed;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const at = (path: PropertyKey[], message: string, key?: string): Problem => ({
    file: shown,
    ...locatePath(doc, lines, path, key),
    path: formatPath(key ? [...path, key] : path),
    message,
  });
  const layer: Layer = { file, value: parsed.value, at };
  if (!parsed.value.extends) return { ok: true, layers: [layer] };
  const base = resolve(dirname(file), parsed.value.extends);
  const chain = [...seen, file];
  if (chain.includes(base)) {
    const cycle = [...chain, base].map((f) => basename(f)).join(" -> ");
    return { ok: false, problems: [at(["extends"], `the extends chain loops: ${cycle}`)] };
  }
  if (!existsSync(base)) {
    return { ok: false, problems: [at(["extends"], `no scenario file at ${displayPath(base)}`)] };
  }
  const inner = readLayers(base, chain);
  return inner.ok ? { ok: true, layers: [...inner.layers, layer] } : inner;
}
