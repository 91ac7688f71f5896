import { basename, dirname, extname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { locatePath } from "../../pipeline/locate.js";
import { parseYamlConfig } from "../../pipeline/parse-config.js";
import { formatPath, type Problem } from "../../pipeline/problem.js";
import { MAX_RECORDED_BYTES, readInputFile } from "../../pipeline/read-input.js";
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

/**
 * Reads a scenario file and, first, the files it extends. A file that cannot be read is reported
 * where it is named: at the `extends` that names it, or at the file itself when it was given.
 */
function readLayers(file: string, seen: string[], named?: (message: string) => Problem): Layers {
  const shown = displayPath(file);
  const read = readInputFile(file, MAX_RECORDED_BYTES);
  if (!read.ok) {
    const problem = named
      ? named(`${displayPath(file)}: ${read.problem.message}`)
      : { ...read.problem, file: shown };
    return { ok: false, problems: [problem] };
  }
  const text = read.text;
  const parsed = parseYamlConfig(text, ScenarioFileSchema, shown, MAX_RECORDED_BYTES);
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
  const inner = readLayers(base, chain, (message) => at(["extends"], message));
  return inner.ok ? { ok: true, layers: [...inner.layers, layer] } : inner;
}
