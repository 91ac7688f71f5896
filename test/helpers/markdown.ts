/** Every ```yaml (or ```yml) fenced block of a Markdown text, with the line its content starts on. */
export function yamlBlocks(markdown: string, name = "the document"): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  let open: { line: number; body: string[] } | undefined;
  markdown.split("\n").forEach((line, index) => {
    if (!open && /^```ya?ml\s*$/.test(line)) open = { line: index + 2, body: [] };
    else if (open && /^```\s*$/.test(line)) {
      blocks.push({ line: open.line, text: `${open.body.join("\n")}\n` });
      open = undefined;
    } else open?.body.push(line);
  });
  if (open) throw new Error(`${name}: yaml block opened at line ${open.line - 1} is never closed`);
  return blocks;
}
