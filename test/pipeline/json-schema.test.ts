import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { pipelineJsonSchema, pipelineJsonSchemaText } from "../../src/pipeline/json-schema.js";

describe("the JSON Schema for editors", () => {
  it("is generated from the zod schema, and the committed copy is not stale (regenerate with npm run schema)", () => {
    expect(readFileSync("schema/pipeline.schema.json", "utf8")).toBe(pipelineJsonSchemaText());
  });

  it("describes the phase forms and the tier vocabulary", () => {
    const schema = pipelineJsonSchema() as { properties: Record<string, { items?: { anyOf?: unknown[] } }> };
    expect(schema.properties.phases?.items?.anyOf).toHaveLength(3);
    expect(JSON.stringify(schema)).toContain('"enum":["fast","balanced","deep"]');
  });

  it("accepts the built-in pipelines' field names (no field the loader knows is missing from it)", () => {
    const schema = pipelineJsonSchema() as { properties: Record<string, unknown> };
    const coding = parse(readFileSync("pipelines/coding.yml", "utf8")) as Record<string, unknown>;
    for (const key of Object.keys(coding)) expect(schema.properties).toHaveProperty(key);
  });
});
