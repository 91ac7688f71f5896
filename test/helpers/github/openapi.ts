import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Schema } from "./json-schema.js";

/** One parameter of an operation, `$ref`s resolved. */
export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Schema;
  "x-multi-segment"?: boolean;
}

export interface Operation {
  method: string;
  template: string;
  operationId: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: Schema }> };
}

export interface MatchedOperation {
  operation: Operation;
  /** Path parameters as they appeared in the URL, percent-decoded. */
  pathParams: Record<string, string>;
}

interface Description {
  paths: Record<string, Record<string, unknown>>;
  components: { parameters: Record<string, Parameter>; schemas: Record<string, Schema> };
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  /** Literal segments rank first, then fewer multi-segment parameters: `/git/refs` beats `/git/{x}`. */
  literals: number;
  multi: number;
  raw: Record<string, unknown>;
  pathItem: Record<string, unknown>;
}

const METHODS = new Set(["get", "post", "put", "patch", "delete", "head", "options"]);

let cached: { description: Description; routes: Route[] } | undefined;

/** GitHub's REST description, read once per test file (13 MB) on first use. */
export function loadDescription(): { description: Description; routes: Route[] } {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const file = require.resolve("@octokit/openapi/generated/api.github.com.json");
  const description = JSON.parse(readFileSync(file, "utf8")) as Description;
  const routes: Route[] = [];
  for (const [template, pathItem] of Object.entries(description.paths)) {
    for (const [method, raw] of Object.entries(pathItem)) {
      if (!METHODS.has(method)) continue;
      routes.push(
        compileRoute(method.toUpperCase(), template, raw as Record<string, unknown>, pathItem, description),
      );
    }
  }
  routes.sort((a, b) => b.literals - a.literals || a.multi - b.multi);
  cached = { description, routes };
  return cached;
}

/** Resolves `#/components/...` references in GitHub's description. */
export function resolveRef(ref: string): Schema {
  const { description } = loadDescription();
  let node: unknown = description;
  for (const part of ref.replace(/^#\//, "").split("/")) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (node === undefined) throw new Error(`unresolvable $ref ${ref} in GitHub's OpenAPI description`);
  return node as Schema;
}

/** Finds the operation for `method` and a URL pathname, preferring the most specific template. */
export function findOperation(method: string, pathname: string): MatchedOperation | undefined {
  const { routes } = loadDescription();
  for (const route of routes) {
    if (route.method !== method.toUpperCase()) continue;
    const match = route.pattern.exec(pathname);
    if (match === null) continue;
    const pathParams: Record<string, string> = {};
    route.names.forEach((name, index) => {
      pathParams[name] = decodeURIComponent(match[index + 1] ?? "");
    });
    return { operation: toOperation(route), pathParams };
  }
  return undefined;
}

function compileRoute(
  method: string,
  template: string,
  raw: Record<string, unknown>,
  pathItem: Record<string, unknown>,
  description: Description,
): Route {
  const parameters = collectParameters(raw, pathItem, description);
  const names: string[] = [];
  let literals = 0;
  let multi = 0;
  const source = template
    .split("/")
    .map((segment) => {
      if (!segment.includes("{")) {
        literals += 1;
        return escapeRegExp(segment);
      }
      return segment
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const name = /^\{([^}]+)\}$/.exec(part)?.[1];
          if (name === undefined) return escapeRegExp(part);
          names.push(name);
          const isMulti = parameters.find((p) => p.name === name && p.in === "path")?.["x-multi-segment"];
          if (isMulti) multi += 1;
          return isMulti ? "(.+?)" : "([^/]+?)";
        })
        .join("");
    })
    .join("/");
  return { method, template, pattern: new RegExp(`^${source}/?$`), names, literals, multi, raw, pathItem };
}

function toOperation(route: Route): Operation {
  const { description } = loadDescription();
  return {
    method: route.method,
    template: route.template,
    operationId: String(route.raw.operationId),
    parameters: collectParameters(route.raw, route.pathItem, description),
    requestBody: route.raw.requestBody as Operation["requestBody"],
  };
}

function collectParameters(
  raw: Record<string, unknown>,
  pathItem: Record<string, unknown>,
  description: Description,
): Parameter[] {
  const list = [...((pathItem.parameters as unknown[]) ?? []), ...((raw.parameters as unknown[]) ?? [])];
  return list.map((entry) => {
    const ref = (entry as { $ref?: string }).$ref;
    if (ref === undefined) return entry as Parameter;
    const name = ref.split("/").pop() ?? "";
    const parameter = description.components.parameters[name];
    if (parameter === undefined) throw new Error(`unresolvable parameter ${ref}`);
    return parameter;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
