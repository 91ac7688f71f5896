import { z } from "zod";
import { PipelineSchema } from "./schema.js";

/**
 * A JSON Schema for editors (draft 7, the newest yaml-language-server reads), generated from a zod
 * schema (never by hand), as the committed file's exact text: stable key order, trailing newline.
 */
export function jsonSchemaText(schema: z.ZodType, meta: { file: string; title: string }): string {
  const generated = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-7" });
  const document = { ...generated, $id: `https://atomic-scrum.dev/schema/${meta.file}`, title: meta.title };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The JSON Schema of pipeline files. */
export function pipelineJsonSchema(): Record<string, unknown> {
  return JSON.parse(pipelineJsonSchemaText()) as Record<string, unknown>;
}

export function pipelineJsonSchemaText(): string {
  return jsonSchemaText(PipelineSchema, { file: "pipeline.schema.json", title: "Atomic Scrum pipeline" });
}
