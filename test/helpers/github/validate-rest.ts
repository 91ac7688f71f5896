import { validateSchema } from "./json-schema.js";
import { findOperation, type Operation, type Parameter, resolveRef } from "./openapi.js";

export interface RestVerdict {
  /** GitHub's operationId (`git/create-ref`), when the method and path name an operation. */
  operationId?: string;
  problems: string[];
}

/**
 * Checks one REST request against GitHub's OpenAPI description: the operation exists, path and
 * query parameters are present and well typed, and the JSON body matches the request schema.
 * Unknown query parameters are reported too: GitHub ignores them, so one here is a typo in our code.
 */
export function validateRestRequest(method: string, url: URL, rawBody: string): RestVerdict {
  const matched = findOperation(method, url.pathname);
  if (matched === undefined) {
    return { problems: [`${method} ${url.pathname}: no such operation in GitHub's REST API`] };
  }
  const { operation, pathParams } = matched;
  const problems: string[] = [];
  for (const parameter of operation.parameters) {
    if (parameter.in === "path") {
      problems.push(...checkScalar(parameter, pathParams[parameter.name], "path"));
    }
    if (parameter.in === "query") {
      const value = url.searchParams.get(parameter.name) ?? undefined;
      if (value === undefined && parameter.required) problems.push(`query ${parameter.name}: required`);
      else problems.push(...checkScalar(parameter, value, "query"));
    }
  }
  const known = new Set(operation.parameters.filter((p) => p.in === "query").map((p) => p.name));
  for (const name of url.searchParams.keys()) {
    if (!known.has(name)) problems.push(`query ${name}: not a parameter of ${operation.operationId}`);
  }
  problems.push(...checkBody(operation.requestBody, rawBody));
  return {
    operationId: operation.operationId,
    problems: problems.map((p) => `${method} ${operation.template} (${operation.operationId}): ${p}`),
  };
}

function checkScalar(parameter: Parameter, value: string | undefined, where: string): string[] {
  if (value === undefined) return [];
  const schema = parameter.schema ?? {};
  const label = `${where} ${parameter.name}`;
  if (schema.type === "integer" && !/^-?\d+$/.test(value))
    return [`${label}: expected an integer, got "${value}"`];
  if (schema.type === "boolean" && value !== "true" && value !== "false") {
    return [`${label}: expected true or false, got "${value}"`];
  }
  if (value === "" || value === "undefined" || value === "null") {
    return [`${label}: got "${value}", which looks like a missing value`];
  }
  // Query strings carry text: convert to the declared type before checking enums and bounds.
  if (schema.type === "array") return [];
  const typed =
    schema.type === "integer" || schema.type === "number"
      ? Number(value)
      : schema.type === "boolean"
        ? value === "true"
        : value;
  return validateSchema(typed, schema, resolveRef, label);
}

function checkBody(requestBody: Operation["requestBody"], raw: string): string[] {
  const sent = raw.trim() !== "";
  if (requestBody === undefined) return sent ? ["body: this operation takes no request body"] : [];
  if (!sent) return requestBody.required ? ["body: required"] : [];
  const json = requestBody.content["application/json"];
  // Markdown-raw and asset uploads take text or bytes: nothing to check against a schema.
  if (json?.schema === undefined) return [];
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return ["body: not valid JSON"];
  }
  return validateSchema(body, json.schema, resolveRef, "body");
}
