import { schema as published } from "@octokit/graphql-schema";
import {
  buildSchema,
  type GraphQLSchema,
  getVariableValues,
  type OperationDefinitionNode,
  parse,
  validate,
} from "graphql";

export interface GraphqlVerdict {
  /** The operation's name, or `anonymous query`/`anonymous mutation`. */
  operationName?: string;
  isMutation: boolean;
  problems: string[];
}

let schema: GraphQLSchema | undefined;

/** GitHub's public GraphQL schema, built once per test file on first use. */
export function githubSchema(): GraphQLSchema {
  if (schema !== undefined) return schema;
  // check rejects; the types our documents use are unaffected, so skip that check only.
  schema = buildSchema(published.idl, { assumeValidSDL: true });
  return schema;
}

/**
 * Checks a `POST /graphql` body: the document parses and validates against GitHub's schema, and
 * the variables coerce to the declared types (non-null ones present, enums and input objects right).
 */
export function validateGraphqlRequest(rawBody: string): GraphqlVerdict {
  let body: { query?: unknown; variables?: unknown; operationName?: unknown };
  try {
    body = JSON.parse(rawBody) as typeof body;
  } catch {
    return { isMutation: false, problems: ["graphql: body is not valid JSON"] };
  }
  if (typeof body.query !== "string")
    return { isMutation: false, problems: ["graphql: body has no query string"] };
  let document: ReturnType<typeof parse>;
  try {
    document = parse(body.query);
  } catch (error) {
    return { isMutation: false, problems: [`graphql: ${(error as Error).message}`] };
  }
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === "OperationDefinition",
  );
  const operation =
    typeof body.operationName === "string"
      ? operations.find((o) => o.name?.value === body.operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
  const isMutation = operation?.operation === "mutation";
  const operationName =
    operation?.name?.value ?? (operation ? `anonymous ${operation.operation}` : undefined);
  const problems = validate(githubSchema(), document).map((e) => `graphql: ${e.message}`);
  if (operation === undefined) {
    problems.push("graphql: cannot tell which operation to run (give operationName or send one operation)");
  } else if (problems.length === 0) {
    const inputs = (body.variables ?? {}) as Record<string, unknown>;
    const coerced = getVariableValues(githubSchema(), operation.variableDefinitions ?? [], inputs);
    for (const error of coerced.errors ?? []) problems.push(`graphql variables: ${error.message}`);
  }
  return { operationName, isMutation, problems: problems.map((p) => `${operationName ?? "graphql"}: ${p}`) };
}
