import type { RunStatus } from "./types.js";

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
