import type { AttemptOutput } from "./types.js";

/**
 * What a phase's output is to later prompts and to its comment: the document, or for a files
 * phase its summary followed by each changed file, so a review phase sees the code itself.
 */
export function outputText(output: AttemptOutput): string {
  if (!output.files) return output.text;
  const parts = [output.text];
  for (const file of output.files) {
    parts.push(
      "content" in file
        ? `#### \`${file.path}\`\n\n\`\`\`\`\n${file.content}\n\`\`\`\``
        : `#### \`${file.path}\` (deleted)`,
    );
  }
  return parts.join("\n\n");
}
