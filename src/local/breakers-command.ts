import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type BreakerSettings,
  DEFAULT_BREAKER_SETTINGS,
  failuresInWindow,
  halfOpensAt,
  spanText,
} from "../engine/breaker.js";
import { formatTime } from "../render/format.js";
import { textTable } from "../render/text-table.js";
import { type BreakerFilter, type BreakerRecord, listBreakers, resetBreakers } from "../store/breakers.js";
import { type Database, openDatabase } from "../store/database.js";
import type { Io } from "./commands.js";
import { localDatabase } from "./local-app.js";
import { CommandError } from "./run-commands.js";

/** Where the breakers are: the local repository's database, or the one `--db` names (the app's). */
export interface BreakersFlags {
  repo: string;
  db?: string;
}

/**
 * `atomic-scrum breakers`: the circuit breaker of each (provider, model, task type, tier) that
 * has counted anything. Times come from `settings`: the ones the workers use (the defaults, for
 * local runs).
 */
export function breakersCommand(
  flags: BreakersFlags,
  io: Io,
  options: { now?: number; settings?: BreakerSettings } = {},
): number {
  const settings = options.settings ?? DEFAULT_BREAKER_SETTINGS;
  const now = options.now ?? Date.now();
  return withDatabase(flags, (db, path) => {
    const breakers = db ? listBreakers(db) : [];
    const rule = `opens after ${settings.threshold} failure(s) within ${spanText(settings.windowMs)}, lets a trial through after ${spanText(settings.cooloffMs)}`;
    if (breakers.length === 0) {
      io.out(`every breaker is closed: none has counted a failure yet (${rule}; ${path})`);
      return 0;
    }
    io.out(`breakers in ${path} (${rule}):`);
    const rows = [
      ["PROVIDER", "MODEL", "TASK", "TIER", "STATE", "FAILURES", "OPENED AT", "HALF-OPENS"],
      ...breakers.map((breaker) => breakerRow(breaker, now, settings)),
    ];
    for (const line of textTable(rows)) io.out(line);
    return 0;
  });
}

/**
 * `atomic-scrum breakers reset [--provider P] [--model M] [--task T] [--tier T]`: forgets the
 * breakers the filters match (every one without a filter, saying how many), so they are closed
 * with no failures. 1 when a filter matches none of the breakers there are (a typo, most likely).
 */
export function breakersResetCommand(flags: BreakersFlags & BreakerFilter, io: Io): number {
  const filter: BreakerFilter = {
    ...(flags.provider === undefined ? {} : { provider: flags.provider }),
    ...(flags.model === undefined ? {} : { model: flags.model }),
    ...(flags.task === undefined ? {} : { task: flags.task }),
    ...(flags.tier === undefined ? {} : { tier: flags.tier }),
  };
  return withDatabase(flags, (db, path) => {
    const before = db ? listBreakers(db) : [];
    const named = Object.entries(filter).map(([name, value]) => `--${name} ${value}`);
    if (!db || before.length === 0) {
      io.out(`no breaker to reset: every breaker is closed (${path})`);
      return 0;
    }
    const reset = db.transaction(() => resetBreakers(db, filter)).immediate();
    if (named.length === 0) {
      io.out(`reset every breaker: ${reset} forgotten, all closed again (${path})`);
      return 0;
    }
    if (reset === 0) {
      const known = [...new Set(before.map((b) => `${b.provider}/${b.model} ${b.task} at ${b.tier}`))];
      io.err(`no breaker matches ${named.join(" ")}; the breakers in ${path} are: ${known.join(", ")}`);
      return 1;
    }
    io.out(
      `reset ${reset} breaker(s) matching ${named.join(" ")}: closed again; ${before.length - reset} other(s) kept (${path})`,
    );
    return 0;
  });
}

function withDatabase(
  flags: BreakersFlags,
  work: (db: Database | undefined, path: string) => number,
): number {
  const path = flags.db ? resolve(flags.db) : localDatabase(flags.repo);
  // A repository that has had no run yet has every breaker closed: said so, and no database is
  // created for it. A --db that is not there is a typo, most likely: refused, naming the flag.
  if (!flags.db && !existsSync(path)) return work(undefined, path);
  if (!existsSync(path)) {
    throw new CommandError(
      `no database at ${path}: pass --db FILE (the app's database), or --repo DIR of a repository that has had runs`,
    );
  }
  const db = openDatabase(path);
  try {
    return work(db, path);
  } finally {
    db.close();
  }
}

function breakerRow(breaker: BreakerRecord, now: number, settings: BreakerSettings): string[] {
  const at = halfOpensAt(breaker, settings);
  const halfOpens =
    breaker.state === "half-open"
      ? `trial since ${formatTime(breaker.trial?.startedAt ?? 0)}`
      : at === undefined
        ? "—"
        : at <= now
          ? "now: the next phase is the trial"
          : formatTime(at);
  return [
    breaker.provider,
    breaker.model,
    breaker.task,
    breaker.tier,
    breaker.state,
    `${failuresInWindow(breaker, now, settings)} in window`,
    breaker.openedAt === undefined || breaker.state === "closed" ? "—" : formatTime(breaker.openedAt),
    halfOpens,
  ];
}
