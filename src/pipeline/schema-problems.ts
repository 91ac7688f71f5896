import type { z } from "zod";
import {
  AssertGateSchema,
  ChecksGateSchema,
  JudgeGateSchema,
  OutputSchema,
  PipelineSchema,
  phaseSchemaFor,
} from "./schema.js";
import { suggest } from "./template-variables.js";

type Issue = z.core.$ZodIssue;
export type AnySchema = z.core.$ZodType;

/** A schema problem before it is located in the file. */
export interface RawProblem {
  path: PropertyKey[];
  /** Set when the problem is about a key itself (an unknown field). */
  key?: string;
  message: string;
}

/**
 * Turns zod issues into problems a person can act on: unions are resolved to the branch the
 * author meant (a phase with `wait:` is a wait phase), unknown fields get a "did you mean".
 */
export function schemaProblems(
  issues: readonly Issue[],
  root: unknown,
  schema: AnySchema = PipelineSchema,
): RawProblem[] {
  const input = { root, schema };
  return issues.flatMap((issue) => describe(issue, [], input));
}

/** The document being validated and the schema it was validated against. */
interface Input {
  root: unknown;
  schema: AnySchema;
}

function describe(issue: Issue, base: PropertyKey[], input: Input): RawProblem[] {
  const { root } = input;
  const path = [...base, ...issue.path];
  const found = valueAt(root, path);
  // YAML's .nan and .inf are numbers JSON cannot hold; zod refuses them as "not a number", which
  // read "expected number, got number null". Whatever the field wanted, say what is wrong.
  if (typeof found === "number" && !Number.isFinite(found)) {
    const wanted =
      issue.code === "invalid_type" && issue.expected !== "number"
        ? `expected ${issue.expected}, got`
        : "expected a finite number, got";
    const hint =
      issue.code === "invalid_type" && issue.expected === "string" ? " (quote it to keep it as text)" : "";
    return [{ path, message: `${wanted} ${yamlNumber(found)}${hint}` }];
  }
  switch (issue.code) {
    case "invalid_union":
      return describeUnion(issue, path, input);
    case "unrecognized_keys": {
      const allowed = allowedKeys(path, input);
      return issue.keys.map((key) => ({
        path,
        key,
        message: `unknown field "${key}"${suggest(key, allowed)}`,
      }));
    }
    case "invalid_key": {
      // zod's own words are "Invalid key in record"; the key's checks say what is wrong with it.
      const key = String(path.at(-1));
      const why = issue.issues.map((inner) => inner.message).join("; ");
      return [{ path: path.slice(0, -1), key, message: `key ${show(key)}: ${why}` }];
    }
    case "invalid_value":
      return [
        {
          path,
          message: `expected one of ${issue.values.map(String).join(" | ")}, got ${show(valueAt(root, path))}`,
        },
      ];
    case "invalid_type": {
      const value = valueAt(root, path);
      if (value === undefined)
        return [{ path: path.slice(0, -1), message: `missing required field "${String(path.at(-1))}"` }];
      const got = value === null ? "null (an empty value)" : `${kindOf(value)} ${show(value)}`;
      return [
        { path, message: `expected ${issue.expected}, got ${got}${unquotedBraces(issue.expected, value)}` },
      ];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/** The union branch an object was written for, chosen by its keys. */
function describeUnion(
  issue: Extract<Issue, { code: "invalid_union" }>,
  path: PropertyKey[],
  input: Input,
): RawProblem[] {
  const { root } = input;
  const value = valueAt(root, path);
  const both = bothForms(path, value);
  if (both) return [{ path, message: both }];
  const schema = branchFor(path, value);
  if (!schema) {
    return [{ path, message: unionHint(path) }];
  }
  const result = (schema as z.ZodType).safeParse(value);
  if (result.success) return [{ path, message: issue.message }];
  return result.error.issues.flatMap((inner) => describe(inner, path, input));
}

function branchFor(path: PropertyKey[], value: unknown): AnySchema | undefined {
  const last = path.at(-1);
  const parent = path.at(-2);
  const has = (key: string) => Boolean(value && typeof value === "object" && key in value);
  if (parent === "phases" && typeof last === "number") return phaseSchemaFor(value);
  if (parent === "gates" && typeof last === "number") {
    if (has("judge")) return JudgeGateSchema;
    if (has("assert")) return AssertGateSchema;
    if (has("checks")) return ChecksGateSchema;
    return undefined;
  }
  if (last === "output") {
    if (has("files")) return OutputSchema.options[1];
    if (has("artifact")) return OutputSchema.options[0];
  }
  return undefined;
}

/**
 * An object that holds the keys of two union forms at once. Checked before choosing a branch:
 * the chosen branch would call the other form's key unknown, and it is not (issue: output with
 * both artifact and files reported `unknown field "artifact"`).
 */
function bothForms(path: PropertyKey[], value: unknown): string | undefined {
  if (!value || typeof value !== "object") return undefined;
  const keys = formKeys(path);
  const present = keys.filter((key) => key in value);
  if (present.length < 2) return undefined;
  return `${unionHint(path)}, not ${keys.length > 2 ? "two at once" : "both"}`;
}

/** The key that marks each form of the union at `path`. */
function formKeys(path: PropertyKey[]): readonly string[] {
  if (path.at(-2) === "gates" && typeof path.at(-1) === "number") return ["judge", "assert", "checks"];
  if (path.at(-1) === "output") return ["artifact", "files"];
  return [];
}

function unionHint(path: PropertyKey[]): string {
  if (path.at(-2) === "gates") return "a gate is one of { judge: ... }, { assert: ... } or { checks: ... }";
  if (path.at(-1) === "output") return "output is either { artifact: <path> } or { files: true }";
  return "does not match any allowed form";
}

/** Keys the object at `path` may have, for "did you mean", read off the schema itself. */
function allowedKeys(path: PropertyKey[], input: Input): string[] {
  const schema = schemaAt(path, input);
  const def = schema?._zod.def;
  return def?.type === "object" ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
}

/** Walks the schema along a path, choosing union branches the way the author meant them. */
function schemaAt(path: PropertyKey[], { root, schema: top }: Input): AnySchema | undefined {
  let schema: AnySchema | undefined = top;
  for (let depth = 0; depth <= path.length && schema; depth++) {
    schema = unwrap(schema, path.slice(0, depth), root);
    if (depth === path.length || !schema) break;
    const def = schema._zod.def;
    const segment = path[depth];
    if (def.type === "object") schema = (def as z.core.$ZodObjectDef).shape[String(segment)];
    else if (def.type === "array") schema = (def as z.core.$ZodArrayDef).element;
    else if (def.type === "record") schema = (def as z.core.$ZodRecordDef).valueType;
    else schema = undefined;
  }
  return schema;
}

function unwrap(schema: AnySchema, path: PropertyKey[], root: unknown): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  while (current) {
    const def = current._zod.def as { type: string; innerType?: AnySchema };
    if (def.type === "optional" || def.type === "default") current = def.innerType;
    else if (def.type === "union") current = branchFor(path, valueAt(root, path));
    else return current;
  }
  return undefined;
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/** `prompt: {{ issue.title }}` unquoted is a YAML mapping whose key is another mapping. */
function unquotedBraces(expected: string, value: unknown): string {
  if (expected !== "string" || !value || typeof value !== "object" || Array.isArray(value)) return "";
  if (!Object.keys(value).some((key) => key.startsWith("{"))) return "";
  return ': a value that starts with { is read as a YAML mapping; quote it ("{{ ... }}") or write it as a block (|)';
}

/** How YAML spells a number that is not finite. */
function yamlNumber(value: number): string {
  if (Number.isNaN(value)) return ".nan";
  return value > 0 ? ".inf" : "-.inf";
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return typeof value;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
