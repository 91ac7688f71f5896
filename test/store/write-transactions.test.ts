import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Context } from "probot";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { handlePullClosed } from "../../src/github/handle-pull-closed.js";
import { startGitHubRun } from "../../src/github/start-run.js";
import { startRun } from "../../src/local/run-commands.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { openDatabase } from "../../src/store/database.js";
import { getRun, listRuns } from "../../src/store/runs.js";
import { holdWriteLock } from "../helpers/hold-write-lock.js";
import { ISSUE, loadPipeline, openApp } from "../helpers/local-run.js";
import { tempDir, tempRepo } from "../helpers/temp.js";

// Issue 11, class 9: two runs started at once on one repository, and one failed with "database is
// locked". A deferred transaction that reads and then writes holds a read snapshot when it asks for
// the write lock; if another connection wrote meanwhile, that snapshot is stale, and SQLite answers
// SQLITE_BUSY at once: waiting (busy_timeout) cannot help. IMMEDIATE takes the write lock at BEGIN,
// where waiting does help.

const SRC = join(import.meta.dirname, "../../src");

/** Every place in `source` that runs a transaction other than IMMEDIATE or EXCLUSIVE. */
function deferredTransactions(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const where = (node: ts.Node) =>
    `${fileName}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === "transaction"
    ) {
      // better-sqlite3's transaction function is only safe called through .immediate() or
      // .exclusive(); calling it bare, through .deferred(), or later from a variable is deferred.
      const access = node.parent;
      const mode =
        ts.isPropertyAccessExpression(access) && access.expression === node ? access.name.text : "";
      const called = ts.isCallExpression(access.parent) && access.parent.expression === access;
      if (!(called && (mode === "immediate" || mode === "exclusive"))) {
        found.push(`${where(node)}: .transaction(...) run ${mode ? `.${mode}()` : "deferred"}`);
      }
    }
    if (
      ts.isStringLiteralLike(node) &&
      /^\s*BEGIN(\s+DEFERRED)?(\s+TRANSACTION)?\s*;?\s*$/i.test(node.text)
    ) {
      found.push(`${where(node)}: ${JSON.stringify(node.text)} begins a deferred transaction`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("write transactions", () => {
  describe("the guard", () => {
    it.each([
      ["a bare call", "db.transaction(() => write())();"],
      ["a bare call with a return type", "const x = db.transaction((): number => 1)();"],
      ["an explicit .deferred()", "db.transaction(() => write()).deferred();"],
      ["a transaction kept in a variable", "const tx = db.transaction(() => write());\ntx.immediate();"],
      ["a wrapped database", "deps.db.transaction(() => write())(1, 2);"],
      ['exec("BEGIN")', 'db.exec("BEGIN");'],
      ['prepare("BEGIN DEFERRED TRANSACTION")', 'db.prepare("BEGIN DEFERRED TRANSACTION").run();'],
    ])("flags %s", (_name, code) => {
      expect(deferredTransactions("example.ts", code)).toHaveLength(1);
    });

    it.each([
      ["an .immediate() call", "db.transaction(() => write()).immediate();"],
      ["an .exclusive() call", "db.transaction(() => write()).exclusive();"],
      ["a multi-line immediate call", "db\n  .transaction(() => {\n    write();\n  })\n  .immediate();"],
      ["a trigger body", 'db.exec("CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END");'],
      ['exec("BEGIN IMMEDIATE")', 'db.exec("BEGIN IMMEDIATE");'],
    ])("accepts %s", (_name, code) => {
      expect(deferredTransactions("example.ts", code)).toEqual([]);
    });
  });

  it("no transaction in src/ is deferred: each takes the write lock at BEGIN (writeTransaction or .immediate())", () => {
    const files = sourceFiles(SRC);
    // The scan must reach every folder: a wrong root would find nothing and pass.
    const relativeFiles = files.map((path) => relative(SRC, path));
    for (const known of ["store/write-transaction.ts", "worker/worker.ts", "local/run-commands.ts", "cli.ts"])
      expect(relativeFiles).toContain(known);
    const found = files.flatMap((path) =>
      deferredTransactions(relative(join(SRC, ".."), path), readFileSync(path, "utf8")),
    );
    expect(found).toEqual([]);
  });

  describe("while another process holds the write lock", () => {
    it("a local run start waits for it instead of failing with database is locked", async () => {
      const repo = tempRepo();
      const app = openApp(repo, { provider: createSimulatedProvider() });
      try {
        const { pipeline, hash, file } = loadPipeline();
        const holder = holdWriteLock(app.dbPath, 300);
        const run = startRun(app, { pipeline, hash, pipelinePath: file, issue: ISSUE });
        await holder.done;
        expect(listRuns(app.db).map((r) => r.id)).toEqual([run.id]);
      } finally {
        app.close();
      }
    });

    it("a pull request closed on GitHub is recorded after it instead of failing with database is locked", async () => {
      const path = join(tempDir(), "store.db");
      const db = openDatabase(path);
      try {
        const { pipeline, hash } = loadPipeline();
        const repo = { owner: "octo", name: "repo", defaultBranch: "main", installationId: 1 };
        const started = startGitHubRun(db, Date.now(), {
          deliveryId: "labeled-1",
          pipeline,
          hash,
          pipelinePath: "small",
          repo,
          issue: ISSUE,
          provider: { name: "simulated" },
        });
        if (!started.started) throw new Error("run not started");
        const branch = getRun(db, started.runId)?.branch;
        // The fields handlePullClosed reads, as a closed (unmerged) pull request delivers them.
        const context = {
          id: "closed-1",
          payload: {
            pull_request: { number: 3, merged: false, head: { ref: branch, repo: { id: 1 } } },
            repository: { id: 1, name: repo.name, owner: { login: repo.owner } },
            sender: { login: "alice" },
          },
          log: { info: () => {} },
        } as unknown as Context<"pull_request.closed">;
        const holder = holdWriteLock(path, 300);
        const outcome = handlePullClosed(context, { db, now: Date.now });
        await holder.done;
        expect(outcome).toBe("cancelled");
      } finally {
        db.close();
      }
    });
  });
});
