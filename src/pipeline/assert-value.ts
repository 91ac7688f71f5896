import { z } from "zod";

/** What an assert's `value` can be, by kind: text, a pattern, a count, globs or a JSON Schema. */
export type AssertValue = string | number | string[] | Record<string, unknown> | undefined;

/**
 * A `json-schema` assert's schema as a zod schema (zod reads JSON Schema itself). Throws for a
 * schema it cannot read; the validator calls it at load time, so a run never meets one.
 */
export function jsonSchemaOf(value: AssertValue): z.ZodType {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("a JSON Schema must be an object");
  }
  return z.fromJSONSchema(value as Parameters<typeof z.fromJSONSchema>[0]);
}
