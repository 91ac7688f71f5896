import type { AttemptOutput } from "./types.js";

/**
 * What a phase's output is to later prompts and to its comment: the document, or for a files
 * phase its summary followed by each changed file, so a review phase sees the code itself.
 */
export function outputText(output: AttemptOutput): string {
  if (!output.files) return output.text;
  const parts = [output.text];
  for (const file of output.files.map(capped)) {
    parts.push(
      "content" in file
        ? `#### \`${file.path}\`\n\n\`\`\`\`\n${file.content}\n\`\`\`\``
        : `#### \`${file.path}\` (deleted)`,
    );
  }
  return parts.join("\n\n");
}

/** Characters of one file shown to later phases: enough to review, not enough to swamp a prompt. */
export const FILE_TEXT_LIMIT = 12_000;

function capped<T extends { path: string }>(file: T): T {
  if (!("content" in file) || typeof file.content !== "string" || file.content.length <= FILE_TEXT_LIMIT)
    return file;
  const rest = file.content.length - FILE_TEXT_LIMIT;
  return {
    ...file,
    content: `${file.content.slice(0, FILE_TEXT_LIMIT)}\n… (${rest} more characters not shown)`,
  };
}
