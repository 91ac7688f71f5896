import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type CheckInput,
  type CheckResult,
  type CommentInput,
  type CommentResult,
  type FindCheckInput,
  ForgeRefusal,
  type FoundCheck,
  type LabelInput,
  type StatusInput,
} from "../forge.js";
import { checkFileName } from "./check-file-name.js";
import { checkKey } from "./check-key.js";
import { writeFileAtomic, writeFileExclusive } from "./write-file-atomic.js";

// More comments than this under one name means a loop upstream, not a conversation.
const MAX_COMMENTS_PER_NAME = 1000;

/** The hidden first line that ties a comment file to the idempotency key that wrote it. */
export function commentMarker(key: string): string {
  return `<!-- atomic-scrum:key=${key} -->`;
}

/**
 * Writes `<runsDir>/<runId>/comments/<name>.md`. A file there (or at `<name>-2.md`, `-3`...) that
 * starts with this key's marker is returned as is; otherwise the comment goes to the first free
 * one, so like GitHub comments, a new key never replaces an earlier comment.
 */
export async function writeComment(runsDir: string, input: CommentInput): Promise<CommentResult> {
  const dir = join(runsDir, checkFileName(input.runId, "run id"), "comments");
  const name = checkFileName(input.name, "comment name");
  const marker = commentMarker(checkKey(input.key));
  await mkdir(dir, { recursive: true });
  for (let index = 1; index <= MAX_COMMENTS_PER_NAME; index++) {
    const file = join(dir, index === 1 ? `${name}.md` : `${name}-${index}.md`);
    let first = await firstLine(file);
    if (first === undefined) {
      if (await writeFileExclusive(file, `${marker}\n${input.body}`)) return { id: file, created: true };
      first = await firstLine(file); // another writer took it first; it may have been this key
    }
    if (first === marker) return { id: file, created: false };
  }
  throw new Error(`${dir}: more than ${MAX_COMMENTS_PER_NAME} comments named ${name}`);
}

/** Overwrites `<runsDir>/<runId>/status.md`, the local stand-in for the run's status comment. */
export async function writeStatus(runsDir: string, input: StatusInput): Promise<void> {
  const dir = join(runsDir, checkFileName(input.runId, "run id"));
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, "status.md"), input.body);
}

/** Adds `label` to `<runsDir>/<runId>/labels.txt` (one per line), the local stand-in for issue labels. */
export async function addLabel(runsDir: string, input: LabelInput): Promise<void> {
  const dir = join(runsDir, checkFileName(input.runId, "run id"));
  const label = input.label.trim();
  if (label === "" || /[\r\n]/.test(label))
    throw new ForgeRefusal(`refusing label ${JSON.stringify(input.label)}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, "labels.txt");
  const known = (await readFile(file, "utf8").catch(() => "")).split("\n").filter((line) => line !== "");
  if (known.includes(label)) return;
  await writeFileAtomic(file, `${[...known, label].join("\n")}\n`);
}

/** Takes `label` out of `<runsDir>/<runId>/labels.txt`; a label not there is no error. */
export async function removeLabel(runsDir: string, input: LabelInput): Promise<void> {
  const file = join(runsDir, checkFileName(input.runId, "run id"), "labels.txt");
  const label = input.label.trim();
  const known = (await readFile(file, "utf8").catch(() => "")).split("\n").filter((line) => line !== "");
  if (!known.includes(label)) return;
  const kept = known.filter((line) => line !== label);
  await writeFileAtomic(file, kept.length ? `${kept.join("\n")}\n` : "");
}

/**
 * The local stand-in for check runs: `<runsDir>/<runId>/checks.json`, a list of every check
 * written, each with its id; an update replaces the entry with that id.
 */
export async function writeCheck(runsDir: string, input: CheckInput): Promise<CheckResult> {
  const dir = join(runsDir, checkFileName(input.runId, "run id"));
  await mkdir(dir, { recursive: true });
  const file = join(dir, "checks.json");
  const checks = JSON.parse(await readFile(file, "utf8").catch(() => "[]")) as LocalCheck[];
  const id = input.id ?? String(checks.length + 1);
  const { runId: _run, id: _id, ...fields } = input;
  const entry: LocalCheck = { id, ...fields };
  const at = checks.findIndex((check) => check.id === id);
  if (at >= 0) checks[at] = entry;
  else checks.push(entry);
  await writeFileAtomic(file, `${JSON.stringify(checks, null, 2)}\n`);
  return { id };
}

type LocalCheck = Omit<CheckInput, "runId" | "id"> & { id: string };

/** The newest entry of `checks.json` named `name` on `headSha`. */
export async function findLocalCheck(
  runsDir: string,
  input: FindCheckInput,
): Promise<FoundCheck | undefined> {
  const file = join(runsDir, checkFileName(input.runId, "run id"), "checks.json");
  const checks = JSON.parse(await readFile(file, "utf8").catch(() => "[]")) as LocalCheck[];
  const found = checks.filter((check) => check.name === input.name && check.headSha === input.headSha).at(-1);
  return found ? { id: found.id, completed: found.status === "completed" } : undefined;
}

async function firstLine(file: string): Promise<string | undefined> {
  try {
    const text = await readFile(file, "utf8");
    const newline = text.indexOf("\n");
    return newline === -1 ? text : text.slice(0, newline);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
