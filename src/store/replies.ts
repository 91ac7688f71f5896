import type { Database } from "./database.js";

/**
 * Claims the reply named `key`: true for the one caller that may post it, false for every other,
 * at once or later, in this process or another on the same file (one INSERT decides).
 */
export function claimReply(db: Database, key: string, now: number): boolean {
  return (
    db.prepare("INSERT OR IGNORE INTO reply_claims (key, claimed_at) VALUES (?, ?)").run(key, now).changes ===
    1
  );
}

/** Gives a claim back: the post failed, so a redelivery may try again. */
export function releaseReply(db: Database, key: string): void {
  db.prepare("DELETE FROM reply_claims WHERE key = ?").run(key);
}
