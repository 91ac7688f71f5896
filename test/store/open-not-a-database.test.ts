import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DatabaseOpenError, openDatabase } from "../../src/store/database.js";
import { tempDir } from "../helpers/temp.js";

// SQLite takes a file shorter than its 100-byte header for an empty database and writes a new one
// over it: `--db notes.txt` on a short file destroyed it, though the error for a longer one says
// "left untouched". Only an empty file or a real SQLite file is opened.

describe("openDatabase > a file that is not a database", () => {
  for (const [what, content] of [
    ["one byte", "x"],
    ["a short note", "remember the milk\n"],
    ["99 bytes", "y".repeat(99)],
  ] as const) {
    it(`${what}: refused, the file left as it was`, () => {
      const path = join(tempDir(), "notes.txt");
      writeFileSync(path, content);
      expect(() => openDatabase(path)).toThrow(DatabaseOpenError);
      expect(() => openDatabase(path)).toThrow(
        `cannot open the database ${path}: it is not a SQLite database (left untouched)`,
      );
      expect(readFileSync(path, "utf8")).toBe(content);
    });
  }

  it("an empty file becomes the store, and opens again", () => {
    const path = join(tempDir(), "new.db");
    writeFileSync(path, "");
    openDatabase(path).close();
    openDatabase(path).close();
    expect(readFileSync(path).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
  });
});
