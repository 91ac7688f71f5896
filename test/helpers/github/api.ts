import nock from "nock";
import { afterEach, beforeEach } from "vitest";
import { validateGraphqlRequest } from "./validate-graphql.js";
import { validateRestRequest } from "./validate-rest.js";

/** One request that reached a {@link githubApi} scope. */
export interface LoggedRequest {
  method: string;
  /** URL path without the query string, e.g. `/repos/o/r/git/refs` or `/graphql`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, the raw string when it is not JSON, undefined when empty. */
  body: unknown;
  /** Non-GET REST requests and GraphQL mutations. */
  isWrite: boolean;
  /** REST operationId (`git/create-ref`) or GraphQL operation name (`CreateCommit`). */
  operation: string | undefined;
}

/** A request GitHub would reject, with every reason found. */
export interface InvalidRequest {
  method: string;
  path: string;
  problems: string[];
}

const BASE_URL = "https://api.github.com";
let log: LoggedRequest[] = [];
let invalid: InvalidRequest[] = [];

/**
 * `nock("https://api.github.com")`, except every request it intercepts is checked against GitHub's
 * OpenAPI description (REST) or GraphQL schema (`POST /graphql`). A request GitHub would reject
 * fails the test twice over: the request itself errors with the reasons (nock destroys it instead
 * of replying), and the problems are recorded so that this module's `afterEach` fails the test
 * even when the code under test swallowed the error.
 */
export function githubApi(): nock.Scope {
  const scope = nock(BASE_URL);
  scope.on("request", (req: { method?: string; path?: string }, interceptor: object, rawBody: string) => {
    const problems = inspectSafely(req.method ?? "GET", req.path ?? "/", rawBody ?? "");
    if (problems.length === 0) return;
    // nock reads `errorMessage` right after emitting "request" and destroys the request with it
    // (nock 14 playback_interceptor.js). Restore it on the next microtask so a persisted
    // interceptor still replies to later, valid requests.
    const target = interceptor as { errorMessage?: unknown };
    const previous = target.errorMessage;
    target.errorMessage = new Error(`GitHub would reject this request:\n${problems.join("\n")}`);
    queueMicrotask(() => {
      target.errorMessage = previous;
    });
  });
  return scope;
}

/** A bug in the harness must fail the request, not escape as an uncaught exception inside nock. */
function inspectSafely(method: string, pathWithQuery: string, rawBody: string): string[] {
  try {
    return inspect(method, pathWithQuery, rawBody);
  } catch (error) {
    return record(method, pathWithQuery, [`the GitHub API harness failed: ${(error as Error).stack}`]);
  }
}

function inspect(method: string, pathWithQuery: string, rawBody: string): string[] {
  const url = new URL(pathWithQuery, BASE_URL);
  const body = parseBody(rawBody);
  const entry = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), body };
  if (method === "POST" && url.pathname === "/graphql") {
    const verdict = validateGraphqlRequest(rawBody);
    log.push({ ...entry, isWrite: verdict.isMutation, operation: verdict.operationName });
    return record(method, url.pathname, verdict.problems);
  }
  const verdict = validateRestRequest(method, url, rawBody);
  log.push({ ...entry, isWrite: method !== "GET" && method !== "HEAD", operation: verdict.operationId });
  return record(method, url.pathname, verdict.problems);
}

function record(method: string, path: string, problems: string[]): string[] {
  if (problems.length > 0) invalid.push({ method, path, problems });
  return problems;
}

function parseBody(raw: string): unknown {
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Every request seen by {@link githubApi} scopes since {@link resetRequestLog} (or the test's start). */
export function requestLog(): LoggedRequest[] {
  return [...log];
}

export function resetRequestLog(): void {
  log = [];
}

/** Invalid requests recorded so far in this test, without clearing them. */
export function invalidRequests(): InvalidRequest[] {
  return [...invalid];
}

/** Throws, listing every request GitHub would have rejected, and clears the record. */
export function assertNoInvalidRequests(): void {
  const found = invalid;
  invalid = [];
  if (found.length === 0) return;
  const lines = found.map((r) => `${r.method} ${r.path}\n  ${r.problems.join("\n  ")}`);
  throw new Error(`${found.length} request(s) GitHub would reject:\n${lines.join("\n")}`);
}

// Registered for every test file that imports this module.
beforeEach(() => {
  log = [];
  invalid = [];
});
afterEach(() => {
  assertNoInvalidRequests();
});
