/**
 * A focused JSON Schema (OpenAPI 3.0 dialect) validator for the keywords GitHub's request bodies
 * use: $ref, type, nullable, enum, properties, required, additionalProperties, items, oneOf,
 * anyOf, allOf, min/maxLength, pattern, min/maxItems, uniqueItems, minimum/maximum and
 * maxProperties. `format` is not checked. ajv is not installed and package.json is not ours to
 * change, so this covers what `@octokit/openapi` actually uses (counted over every requestBody).
 */
export interface Schema {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minimum?: number;
  maximum?: number;
  maxProperties?: number;
}

export type ResolveRef = (ref: string) => Schema;

/** Returns one line per problem, each starting with the JSON path (`body.fileChanges[0].path`). */
export function validateSchema(value: unknown, schema: Schema, resolve: ResolveRef, at = "body"): string[] {
  if (schema.$ref !== undefined) return validateSchema(value, resolve(schema.$ref), resolve, at);
  if (value === null) return schema.nullable || schema.type === "null" ? [] : [`${at}: must not be null`];
  const typeProblem = checkType(value, schema.type, at);
  if (typeProblem !== undefined) return [typeProblem];
  const problems: string[] = [];
  if (schema.enum !== undefined && !schema.enum.some((allowed) => allowed === value)) {
    problems.push(
      `${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`,
    );
  }
  problems.push(...checkCombinators(value, schema, resolve, at));
  if (typeof value === "string") problems.push(...checkString(value, schema, at));
  if (typeof value === "number") problems.push(...checkNumber(value, schema, at));
  if (Array.isArray(value)) problems.push(...checkArray(value, schema, resolve, at));
  else if (isObject(value)) problems.push(...checkObject(value, schema, resolve, at));
  return problems;
}

function checkType(value: unknown, type: string | undefined, at: string): string | undefined {
  if (type === undefined) return undefined;
  const actual = Array.isArray(value) ? "array" : typeof value;
  const ok =
    type === "integer"
      ? typeof value === "number" && Number.isInteger(value)
      : type === "object"
        ? isObject(value)
        : actual === type;
  return ok ? undefined : `${at}: expected ${type}, got ${actual} ${JSON.stringify(value)}`;
}

function checkCombinators(value: unknown, schema: Schema, resolve: ResolveRef, at: string): string[] {
  const problems: string[] = [];
  for (const part of schema.allOf ?? []) problems.push(...validateSchema(value, part, resolve, at));
  if (schema.anyOf !== undefined) {
    const results = schema.anyOf.map((part) => validateSchema(value, part, resolve, at));
    if (!results.some((r) => r.length === 0)) {
      problems.push(`${at}: matches none of the anyOf alternatives (${summarise(results)})`);
    }
  }
  if (schema.oneOf !== undefined) {
    const results = schema.oneOf.map((part) => validateSchema(value, part, resolve, at));
    const matching = results.filter((r) => r.length === 0).length;
    if (matching === 0)
      problems.push(`${at}: matches none of the oneOf alternatives (${summarise(results)})`);
    if (matching > 1) problems.push(`${at}: matches ${matching} oneOf alternatives, exactly one is allowed`);
  }
  return problems;
}

function summarise(results: string[][]): string {
  return results.map((r) => r[0] ?? "ok").join(" | ");
}

function checkString(value: string, schema: Schema, at: string): string[] {
  const problems: string[] = [];
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    problems.push(`${at}: shorter than ${schema.minLength} characters`);
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    problems.push(`${at}: longer than ${schema.maxLength} characters (${length})`);
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) {
    problems.push(`${at}: does not match ${schema.pattern}`);
  }
  return problems;
}

function checkNumber(value: number, schema: Schema, at: string): string[] {
  const problems: string[] = [];
  if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
  if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
  return problems;
}

function checkArray(value: unknown[], schema: Schema, resolve: ResolveRef, at: string): string[] {
  const problems: string[] = [];
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    problems.push(`${at}: fewer than ${schema.minItems} items`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    problems.push(`${at}: more than ${schema.maxItems} items (${value.length})`);
  }
  if (schema.uniqueItems && new Set(value.map((item) => JSON.stringify(item))).size !== value.length) {
    problems.push(`${at}: items must be unique`);
  }
  const items = schema.items;
  if (items !== undefined) {
    value.forEach((item, index) => {
      problems.push(...validateSchema(item, items, resolve, `${at}[${index}]`));
    });
  }
  return problems;
}

function checkObject(
  value: Record<string, unknown>,
  schema: Schema,
  resolve: ResolveRef,
  at: string,
): string[] {
  const problems: string[] = [];
  for (const name of schema.required ?? []) {
    if (!(name in value) || value[name] === undefined) problems.push(`${at}.${name}: required`);
  }
  const properties = schema.properties ?? {};
  if (schema.maxProperties !== undefined && Object.keys(value).length > schema.maxProperties) {
    problems.push(`${at}: more than ${schema.maxProperties} properties`);
  }
  for (const [name, child] of Object.entries(value)) {
    const where = `${at}.${name}`;
    const propertySchema = properties[name];
    if (propertySchema !== undefined) problems.push(...validateSchema(child, propertySchema, resolve, where));
    else if (schema.additionalProperties === false) problems.push(`${where}: not allowed (no such property)`);
    else if (typeof schema.additionalProperties === "object") {
      problems.push(...validateSchema(child, schema.additionalProperties, resolve, where));
    }
  }
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
