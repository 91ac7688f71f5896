import { main } from "../../src/cli.js";
import { captureIo } from "./io.js";
import { tempFile } from "./temp.js";

/** Runs the command line in-process, as the `atomic-scrum` binary would, and captures what it prints. */
export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

/** A Markdown issue file for issue `number`, the one the CLI tests work on. */
export function issueFile(number = 7): string {
  return tempFile(
    "issue.md",
    `---\nnumber: ${number}\n---\n# Trim the input\n\nInputs arrive with stray spaces.\n`,
  );
}

/** The run id a command printed (`run run-7-1a2b3c`). */
export function runIdOf(text: string): string {
  const id = /run (run-\d+-[0-9a-f]{6})/.exec(text)?.[1];
  if (!id) throw new Error(`no run id in: ${text}`);
  return id;
}
