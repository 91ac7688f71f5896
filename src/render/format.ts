import type { RunStatus } from "../engine/types.js";

export function formatTokens(tokens: number): string {
  return tokens.toLocaleString("en-US");
}

export function formatCost(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return minutes < 60
    ? `${minutes}m ${Math.round((ms % 60_000) / 1000)}s`
    : `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Escapes text for a Markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/**
 * A run's status in words for people (issue 12): the one place that turns the state names, which
 * machine-readable places (`status` columns, JSON, scenario files) keep, into text. Every status
 * has its words, so adding one is a compile error until it is worded.
 */
const STATUS_WORDS: Record<RunStatus, { short: string; sentence: string }> = {
  running: { short: "running", sentence: "is running" },
  waiting: { short: "waiting", sentence: "is waiting" },
  awaiting_approval: { short: "waiting for approval", sentence: "is waiting for approval" },
  needs_human: { short: "needs a person", sentence: "needs a person" },
  succeeded: { short: "succeeded", sentence: "has succeeded" },
  failed: { short: "failed", sentence: "has failed" },
  cancelled: { short: "cancelled", sentence: "was cancelled" },
};

/** A status as a short phrase: "waiting for approval", "needs a person". */
export function statusWords(status: RunStatus): string {
  return STATUS_WORDS[status].short;
}

/** A status as the end of a sentence about the run: "it has succeeded", "the run was cancelled". */
export function statusSentence(status: RunStatus): string {
  return STATUS_WORDS[status].sentence;
}
