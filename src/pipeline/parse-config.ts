import type { z } from "zod";
import { locatePath } from "./locate.js";
import { formatPath, type Problem } from "./problem.js";
import { MAX_CONFIG_BYTES, readInputFile } from "./read-input.js";
import { schemaProblems } from "./schema-problems.js";
import { parseYamlInput } from "./yaml-input.js";

export type ConfigResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/**
 * Parses a YAML configuration file and validates it with `schema`. Never throws for a bad file:
 * every problem is located (`file:line:col`) and says what is wrong. An empty file is `{}`; text
 * past `maxBytes` is refused.
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  schema: S,
  file: string,
  maxBytes: number = MAX_CONFIG_BYTES,
): ConfigResult<z.output<S>> {
  const input = parseYamlInput(text, file, maxBytes);
  if (!input.ok) return input;
  const { doc, lines } = input;
  const raw: unknown = input.value ?? {};
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = schemaProblems(parsed.error.issues, raw, schema).map(({ path, key, message }) => {
    const { line, col } = locatePath(doc, lines, path, key);
    return { file, line, col, path: formatPath(key ? [...path, key] : path), message };
  });
  return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.col - b.col) };
}

/**
 * Reads a YAML configuration file from disk and validates it: {@link parseYamlConfig} after
 * {@link readInputFile}, so a missing file, a directory, binary bytes or a file past `maxBytes`
 * are problems naming the file as well. Never throws.
 */
export function readYamlConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  maxBytes: number = MAX_CONFIG_BYTES,
): ConfigResult<z.output<S>> {
  const read = readInputFile(file, maxBytes);
  if (!read.ok) return { ok: false, problems: [read.problem] };
  return parseYamlConfig(read.text, schema, file, maxBytes);
}
