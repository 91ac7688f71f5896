import type { FileChange } from "../forge/forge.js";
import type { Tier } from "../pipeline/schema.js";
import type { ProviderErrorKind } from "../providers/provider.js";

/** `needs_human`: a phase failed at the top tier and the pipeline hands such a phase to a person. */
export type RunStatus =
  | "running"
  | "waiting"
  | "awaiting_approval"
  | "needs_human"
  | "succeeded"
  | "failed"
  | "cancelled";

/** Where a run is inside its current phase. */
export type Step =
  | "prepare"
  | "call"
  | "judge"
  | "commit"
  /** After the commit, a phase with a checks gate waits here for the repository's CI on it. */
  | "ci"
  | "comment"
  | "wait"
  | "approval"
  | "handoff"
  /** Past the last phase, approved on the final commit, and the repository opted into merging. */
  | "merge"
  | "done";

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface Totals {
  tokens: number;
  costUsd: number;
}

/** The verdict of one gate on one attempt. */
export interface GateResult {
  gate: string;
  pass: boolean;
  /** 0..1 where the gate scores; asserts score 1 or 0. */
  score: number;
  reasons: string[];
  /** What the agent may be told on a retry; defaults to `reasons` (asserts hide nothing). */
  critique?: string[];
  /** Set when the gate could not decide (a judge whose output did not parse, a provider error). */
  error?: string;
  details?: JudgeDetails;
}

export interface JudgeDetails {
  threshold: number;
  model: string;
  criteria: { name: string; weight: number; score: number; floor?: number; pass: boolean; reason: string }[];
}

export interface GatesVerdict {
  pass: boolean;
  results: GateResult[];
}

/** What the current attempt produced, kept until the phase is committed and commented. */
export interface AttemptOutput {
  text: string;
  files?: FileChange[];
  provider: string;
  model: string;
  tier: Tier;
  usage: Usage;
  costUsd: number;
}

export interface RunState {
  /** Events applied so far; a write that saw another seq lost a race and is dropped. */
  seq: number;
  status: RunStatus;
  step: Step;
  phaseIndex: number;
  /** 1-based attempt number within the phase, across tiers. */
  attempt: number;
  tier?: Tier;
  /** 1-based attempt number at the current tier. */
  triesAtTier: number;
  /** Outputs of finished agent phases, read by later templates. */
  outputs: Record<string, string>;
  current?: {
    output?: AttemptOutput;
    verdict?: GatesVerdict;
    error?: string;
    /** The run's own budget refused the attempt's call (`agent.failed`'s `budgetSpent`). */
    budgetSpent?: boolean;
    commit?: string;
    failure?: string;
    /** The failure goes to a person (`on_fail.exhausted: human`) instead of ending the run. */
    handOff?: boolean;
    /**
     * When the checks gate stops waiting for CI on `commit`: fixed by the first poll that found
     * it unfinished (that poll's time plus the gate's timeout), so later polls keep it.
     */
    ciUntil?: number;
    /** A check the gate counts has appeared on the commit (the phase's check is then in progress, not queued). */
    ciStarted?: boolean;
  };
  /** Critique of the previous attempt, shown to the agent on a retry (never the rubric). */
  feedback?: string;
  head?: string;
  /** The commit the run branch started from: checks are never put on it (it is the base branch's). */
  baseHead?: string;
  waitUntil?: number;
  /** Who has approved the current approval phase so far. */
  approvals?: string[];
  /**
   * The approval the run last passed: which phase, the commit approved and by whom. A run that
   * ended on it can be sent back to that phase by a new commit, a dismissal or a changes-requested
   * review (the approval binds to `head`); a merge clears it.
   */
  approval?: { phaseId: string; head: string; by: string[] };
  totals: Totals;
  reason?: string;
  /** Per phase id, each time an attempt moved to another tier and why: the status comment shows it. */
  tierChanges?: Record<string, TierChange[]>;
  /**
   * Per agent phase the run has left (or been sent back from): its last attempt number and tier.
   * A phase run again (`phase.retry`, `phase.escalate`) numbers its attempts on from there, so
   * effect keys and attempt rows never collide, and escalates from that tier.
   */
  history?: Record<string, { attempt: number; tier: Tier }>;
  /**
   * How many times a person sent the run back to a phase. Wait and approval phases are entered
   * once per round: their effect and timer keys carry it, so a second pass does not find the first
   * pass's timer or approval request done already.
   */
  round?: number;
}

/** An attempt that runs on another tier than the one before it, and why. */
export interface TierChange {
  /** The attempt that runs on `to`. */
  attempt: number;
  from: Tier;
  to: Tier;
  /**
   * `breaker`: the circuit breaker of (task, `from`) was open, so the attempt never ran on `from`;
   * `escalation`: the attempts at `from` were spent.
   */
  cause: "breaker" | "escalation";
  /** For a breaker, its state when it turned the attempt away. */
  breaker?: "open" | "half-open";
  reason: string;
}

/** Something the worker must do next; `key` makes doing it twice harmless. */
export type Effect =
  | { kind: "prepare_branch"; key: string }
  | { kind: "call_agent"; key: string; phaseId: string; attempt: number; tier: Tier }
  | { kind: "evaluate_gates"; key: string; phaseId: string; attempt: number }
  | { kind: "commit"; key: string; phaseId: string; attempt: number }
  | { kind: "comment"; key: string; phaseId: string; attempt: number }
  /** Reads the CI on `sha` once; read-only, so its key names the poll (a poll may run again). */
  | { kind: "check_ci"; key: string; phaseId: string; attempt: number; sha: string }
  | { kind: "schedule_wait"; key: string; phaseId: string; waitMs: number }
  | { kind: "request_approval"; key: string; phaseId: string }
  | { kind: "hand_off"; key: string; phaseId: string; label: string }
  | { kind: "merge_pull"; key: string; sha: string; method: "merge" | "squash" | "rebase" };

export type EffectKind = Effect["kind"];

/** Everything that can happen to a run. */
export type RunEvent =
  | { type: "branch.prepared"; head: string }
  | { type: "agent.completed"; output: AttemptOutput }
  | {
      type: "agent.failed";
      error: string;
      fatal: boolean;
      /** The provider error's kind (`unavailable`, `bad-output`...), when the call itself failed. */
      kind?: ProviderErrorKind;
      /**
       * The run's own budget (the pipeline's `max_tokens`/`max_cost_usd`, pinned to the run)
       * refused the call, so it will refuse it again: a retry of the run is refused. Not set for a
       * daily budget, which resets, nor for a model with no price, which can be added.
       */
      budgetSpent?: boolean;
      usage?: Usage;
      costUsd?: number;
    }
  | { type: "gates.evaluated"; verdict: GatesVerdict; usage: Usage; costUsd: number }
  | {
      /** The circuit breaker of (task, `from`) turned the attempt away before it ran: it runs on `to`. */
      type: "phase.rerouted";
      phaseId: string;
      attempt: number;
      from: Tier;
      to: Tier;
      breaker: "open" | "half-open";
      reason: string;
    }
  | { type: "phase.committed"; sha: string }
  | {
      /** The CI on the phase's commit has finished (or the gate stopped waiting): the checks gate's verdict. */
      type: "ci.completed";
      sha: string;
      pass: boolean;
      /** One short line each: the failing checks, or what passed; the agent hears the failing ones. */
      summary: string[];
      /** The gate's timeout came first: `summary` names what was still pending. */
      timedOut?: boolean;
      /**
       * Set when the gate could not decide (no CI ever reported on the commit): like a grader
       * error, it fails the phase without asking the agent to redo work nobody checked.
       */
      error?: string;
    }
  /** CI on `sha` has not finished: the run waits for a suite to complete or for `until`. */
  | {
      type: "ci.pending";
      sha: string;
      until: number;
      /** Whether any check the gate counts has appeared on the commit yet: queued until one has. */
      started?: boolean;
    }
  /** A check suite completed on `sha` (a webhook): a waiting run reads its CI again. */
  | { type: "ci.changed"; sha: string }
  /** The checks gate's deadline for this attempt has come: a waiting run reads its CI a last time. */
  | { type: "ci.timeout"; phaseId: string; attempt: number }
  | { type: "phase.commented"; commentId: string }
  | { type: "wait.scheduled"; until: number }
  | {
      type: "wait.elapsed";
      phaseId: string;
      fastForwarded: boolean;
      /** The round the timer was set in; a timer from an earlier round is refused. Absent: 0. */
      round?: number;
      /** Who ended the cooldown early (`/resume`), when a person did. */
      by?: string;
    }
  | {
      type: "approval.requested";
      /**
       * Who had already approved the run's head when its approval phase began (GitHub: approving
       * reviews submitted earlier, during a cooldown say, checked as a review arriving now would
       * be). Each counts once, as if it were an `approval.granted` arriving now.
       */
      approvedBy?: string[];
      /** The commit `approvedBy` approved: when it is not the run's head, none of them counts. */
      sha?: string;
    }
  | { type: "handoff.done"; label: string }
  | {
      /**
       * A person approved the approval phase. `sha` is the commit they approved (a review's
       * `commit_id`); an approval of any commit but the run's head is refused. Absent (the local
       * `approve` command): the current head.
       */
      type: "approval.granted";
      /** Absent (a review on GitHub): whichever approval phase the run is at when it applies. */
      phaseId?: string;
      by: string;
      sha?: string;
    }
  | {
      /**
       * The approvals so far no longer hold: a new commit on the branch (`head`, the new head), a
       * dismissed review or a review requesting changes. Only applies while the run awaits approval.
       */
      type: "approval.revoked";
      /** Absent (a review or push on GitHub): whichever approval phase the run is at. */
      phaseId?: string;
      by: string;
      reason: "new-commit" | "dismissed" | "changes-requested";
      /** The branch's new head, after a push. */
      head?: string;
      /** The head the push replaced: the run's head moves only when it is the one the run knows. */
      previousHead?: string;
      /** For a dismissal: whose review was dismissed (`@login`); only one of the approvals takes anything back. */
      reviewer?: string;
      /** For a dismissal: the commit the dismissed review was of; only a review of the approved head counts. */
      commit?: string;
    }
  | { type: "run.cancelled"; by: string }
  /**
   * A person (`/retry`) sends the run back to an agent phase it has reached: that phase runs again
   * at its own tier, then every phase after it. Revives a failed run or one waiting for a person.
   */
  | { type: "phase.retry"; phaseId: string; by: string }
  /** As `phase.retry`, one tier above the phase's last tier, with its previous output as context. */
  | { type: "phase.escalate"; phaseId: string; by: string }
  /** A person merged the run's pull request: the run is complete, whatever step it was at. */
  | { type: "run.merged"; by: string }
  /** The app could not merge the approved commit (`merge_after_approval`): a person takes it from here. */
  | { type: "merge.refused"; reason: string }
  | { type: "run.aborted"; reason: string };

export type RunEventType = RunEvent["type"];
