import { z } from "zod";
import { PipelineSchema } from "./schema.js";

/**
 * The JSON Schema editors use (draft 7, the newest yaml-language-server reads) for pipeline
 * files, generated from the zod schema (never by hand).
 */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PipelineSchema, { io: "input", unrepresentable: "any", target: "draft-7" });
  return {
    ...schema,
    $id: "https://atomic-scrum.dev/schema/pipeline.schema.json",
    title: "Atomic Scrum pipeline",
  };
}

/** The committed file's exact text: stable key order and a trailing newline. */
export function pipelineJsonSchemaText(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
}
