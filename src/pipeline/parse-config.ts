import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { locatePath } from "./locate.js";
import { formatPath, type Problem } from "./problem.js";
import { schemaProblems } from "./schema-problems.js";

export type ConfigResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/**
 * Parses a YAML configuration file and validates it with `schema`. Never throws for a bad file:
 * every problem is located (`file:line:col`) and says what is wrong. An empty file is `{}`.
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  schema: S,
  file: string,
): ConfigResult<z.output<S>> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const at = error.linePos?.[0] ?? { line: 1, col: 1 };
        const message = (error.message.split("\n")[0] ?? error.message).replace(
          / at line \d+, column \d+:?$/,
          "",
        );
        return { file, line: at.line, col: at.col, path: "", message: `YAML syntax error: ${message}` };
      }),
    };
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = schemaProblems(parsed.error.issues, raw, schema).map(({ path, key, message }) => {
    const { line, col } = locatePath(doc, lines, path, key);
    return { file, line, col, path: formatPath(key ? [...path, key] : path), message };
  });
  return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.col - b.col) };
}
