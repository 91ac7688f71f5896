import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { Problem } from "./problem.js";

/**
 * The most a configuration file (pipeline, prompt, `.github/atomic-scrum.yml`, server settings,
 * issue) may hold. The largest real one is a few kilobytes; a megabyte is already far more text
 * than any prompt window, and the cap keeps a mistyped path (a log, a database, `/dev/zero`) from
 * being read whole into memory (issue 11, class 16).
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Recorded model answers (fixtures, scenario files) carry whole documents and file edits, so they
 * get more room than hand-written configuration; still capped, for the same reason.
 */
export const MAX_RECORDED_BYTES = 16 * 1024 * 1024;

export type InputText = { ok: true; text: string } | { ok: false; problem: Problem };

/** What a failed open or read means, and what to do about it, by errno code. */
const READ_FAILURES: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "it is a directory, not a file",
  EACCES: "permission denied: make the file readable (chmod) or run as a user who can read it",
  EPERM: "permission denied: make the file readable (chmod) or run as a user who can read it",
  ENOTDIR: "a part of the path is a file, not a directory: check the path",
  ELOOP: "too many symbolic links (a link loop?): check the path",
  ENAMETOOLONG: "the path is too long",
  EMFILE: "too many open files in this process: try again",
};

/** `cannot read: <why>`: the words for a read error, known codes explained, others kept as Node says. */
export function describeReadError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return `cannot read: ${READ_FAILURES[code ?? ""] ?? message}`;
}

/**
 * Reads a UTF-8 text file given from outside (a path a person typed or a file they wrote). Never
 * throws: a missing, unreadable or oversized file, a directory, and bytes that are not UTF-8 text
 * come back as one problem naming the file (and where the bad byte is). A leading byte order
 * mark is dropped, so line and column numbers are the ones an editor shows.
 */
export function readInputFile(file: string, maxBytes: number = MAX_CONFIG_BYTES): InputText {
  let bytes: Buffer;
  try {
    bytes = readCapped(file, maxBytes);
  } catch (error) {
    if (error instanceof TooLarge) return { ok: false, problem: tooLargeProblem(file, maxBytes) };
    return fail(file, 1, 1, describeReadError(error));
  }
  return decodeInput(bytes, file);
}

/** The text of `bytes` when they are UTF-8 text, else a located problem. Exported for its tests. */
export function decodeInput(bytes: Uint8Array, file: string): InputText {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = firstInvalidByte(bytes);
    return fail(
      file,
      at.line,
      at.col,
      "not UTF-8 text (a binary file, or another encoding): save it as UTF-8",
    );
  }
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    const at = positionOf(text, nul);
    return fail(file, at.line, at.col, "contains a NUL byte: a binary file, not text");
  }
  return { ok: true, text };
}

/** A problem when `text` holds more than `maxBytes` bytes of UTF-8. */
export function sizeProblem(text: string, file: string, maxBytes: number): Problem | undefined {
  // A UTF-8 character is at most 3 bytes per UTF-16 unit: most texts are decided without counting.
  if (text.length * 3 <= maxBytes) return undefined;
  return Buffer.byteLength(text, "utf8") > maxBytes ? tooLargeProblem(file, maxBytes) : undefined;
}

function tooLargeProblem(file: string, maxBytes: number): Problem {
  const message = `the file is larger than ${sizeText(maxBytes)}, the most this file may hold: is it the right file?`;
  return { file, line: 1, col: 1, path: "", message };
}

class TooLarge extends Error {}

/**
 * Reads at most `maxBytes + 1` bytes, so that a device or a pipe without an end is refused too,
 * not read until memory runs out. A directory fails at the first read with EISDIR.
 */
function readCapped(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    if (stats.isFile() && stats.size > maxBytes) throw new TooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - total));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      total += read;
      if (total > maxBytes) throw new TooLarge();
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/**
 * Line and column of the first byte that does not decode. A streaming decoder fed one byte at a
 * time throws on the byte that breaks the sequence; only run after a whole-file decode failed.
 */
function firstInvalidByte(bytes: Uint8Array): { line: number; col: number } {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  let col = 1;
  for (let i = 0; i < bytes.length; i++) {
    let out: string;
    try {
      out = decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return { line, col };
    }
    for (const char of out) {
      if (char === "\n") {
        line++;
        col = 1;
      } else col++;
    }
  }
  // The bytes ended inside a character: the problem is where that character started.
  return { line, col };
}

function positionOf(text: string, index: number): { line: number; col: number } {
  const before = text.slice(0, index);
  const line = before.split("\n").length;
  return { line, col: index - before.lastIndexOf("\n") };
}

function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

function fail(file: string, line: number, col: number, message: string): InputText {
  return { ok: false, problem: { file, line, col, path: "", message } };
}
