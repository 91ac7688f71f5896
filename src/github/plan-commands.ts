import { rerunTarget } from "../engine/rerun-phase.js";
import { InvalidTransition, TERMINAL, transition } from "../engine/transition.js";
import type { RunEvent, RunState } from "../engine/types.js";
import { statusSentence, statusWords } from "../render/format.js";
import type { RunRecord } from "../store/runs.js";
import { endKey } from "../worker/end-key.js";
import type { Steer } from "../worker/jobs.js";
import type { RepoPermission } from "./repo-config.js";
import {
  type CommandKind,
  describeCommand,
  type KnownCommand,
  type ParsedCommand,
  REQUIRED_ROLE,
} from "./slash-commands.js";

/** What one command of a comment comes to: a line (or block) of the reply, and the event to queue. */
export interface PlannedCommand {
  kind: ParsedCommand["kind"];
  /** `done`: answered or queued; `refused`: changes nothing (unknown, not allowed, does not fit). */
  outcome: "done" | "refused";
  reply: string;
  /**
   * The event to queue for the run, with its job key and who asked (the worker checks their role
   * again when it applies the event); only for commands that change the run.
   */
  queue?: { key: string; event: RunEvent; steer: Steer };
  /** `/dry-run`: the shell renders the report (it reads GitHub) and it becomes the reply. */
  dryRun?: true;
}

export interface PlanInput {
  commands: ParsedCommand[];
  /** The run the comment speaks to, if the issue or pull request has one. */
  run: RunRecord | undefined;
  /** Why there is no run to speak to, said in replies to commands that need one. */
  noRun: string;
  /** The commenter's role, undefined when they have none. */
  role: RepoPermission | undefined;
  login: string;
  commentId: number;
  /** The run's status table, for `/status`. */
  status: (run: RunRecord) => string;
  /** The /help reply. */
  help: string;
}

const RANK: Record<RepoPermission, number> = { read: 0, triage: 1, write: 2, maintain: 3, admin: 4 };

/** Whether `role` may use `kind`: write admits write, maintain and admin; maintain admits maintain and admin. */
export function admits(role: RepoPermission | undefined, kind: CommandKind): boolean {
  return roleAdmits(role, REQUIRED_ROLE[kind]);
}

/** Whether `role` is `needs` or above. */
export function roleAdmits(role: RepoPermission | undefined, needs: RepoPermission): boolean {
  return role !== undefined && RANK[role] >= RANK[needs];
}

/**
 * Decides every command of a comment, in order, without I/O. Commands that change the run are
 * checked by applying their events to the run's state with the engine itself, one after the
 * other, so `/cancel` then `/retry` is answered as the worker will see it. The worker applies the
 * queued events later and drops (with a note in the log) any the run has moved past since.
 */
export function planCommands(input: PlanInput): PlannedCommand[] {
  let state = input.run?.state;
  return input.commands.map((command, index): PlannedCommand => {
    if (command.kind === "unknown" || command.kind === "invalid" || command.kind === "too-many") {
      return { kind: command.kind, outcome: "refused", reply: describeCommand(command) };
    }
    if (!admits(input.role, command.kind)) {
      const who =
        REQUIRED_ROLE[command.kind] === "maintain" ? "maintain or admin" : "write, maintain or admin";
      return refused(command, `\`/${command.kind}\` was not run: it needs ${who} access to this repository.`);
    }
    if (command.kind === "help") return { kind: "help", outcome: "done", reply: input.help };
    // Queues nothing, with or without a run: the pipeline comes from the run or the issue's labels.
    if (command.kind === "dry-run")
      return { kind: "dry-run", outcome: "done", reply: describeCommand(command), dryRun: true };
    const { run } = input;
    if (!run || !state) return refused(command, `\`/${command.kind}\` was not run: ${input.noRun}`);
    if (command.kind === "status") return { kind: "status", outcome: "done", reply: input.status(run) };
    const planned = planChange(command, run, state, input, index);
    if ("reply" in planned) return planned;
    try {
      state = transition(state, planned.event, run.pipeline).state;
    } catch (error) {
      if (!(error instanceof InvalidTransition)) throw error;
      return refused(command, `\`/${command.kind}\` was not run: ${error.message}.`);
    }
    return {
      kind: command.kind,
      outcome: "done",
      reply: describeCommand({ ...command, ...("phase" in planned ? { phase: planned.phase } : {}) }),
      queue: {
        key: planned.key,
        event: planned.event,
        steer: { login: input.login, needs: REQUIRED_ROLE[command.kind] },
      },
    };
  });
}

type Change = { key: string; event: RunEvent; phase?: string } | PlannedCommand;

function planChange(
  command: KnownCommand,
  run: RunRecord,
  state: RunState,
  input: PlanInput,
  index: number,
): Change {
  const by = `@${input.login}`;
  switch (command.kind) {
    case "cancel":
      // A failed run can still be retried; cancelling it is how a person says it is over for good.
      if (TERMINAL.has(state.status) && state.status !== "failed")
        return refused(command, `\`/cancel\` was not run: the run ${statusSentence(state.status)}.`);
      return { key: endKey("cancel", state), event: { type: "run.cancelled", by: `${by}, with /cancel` } };
    case "resume": {
      const phase = run.pipeline.phases[state.phaseIndex];
      // A run waiting for CI (the checks gate) is not cooling down: a completed suite or its deadline moves it.
      if (state.status !== "waiting" || state.step !== "wait" || !phase) {
        const doing =
          state.step === "ci" && state.status === "waiting" ? "waiting for CI" : statusWords(state.status);
        return refused(command, `\`/resume\` was not run: the run is not cooling down (it is ${doing}).`);
      }
      const round = state.round ?? 0;
      return {
        key: `wait/${phase.id}${round ? `/r${round}` : ""}/fast-forward`,
        event: {
          type: "wait.elapsed",
          phaseId: phase.id,
          fastForwarded: true,
          ...(round ? { round } : {}),
          by,
        },
      };
    }
    default: {
      if (state.status === "succeeded" || state.status === "cancelled") {
        return refused(
          command,
          `\`/${command.kind}\` was not run: the run ${statusSentence(state.status)}, so no phase of it runs again. Add the pipeline's label to the issue again to start a new run.`,
        );
      }
      const type = command.kind === "escalate" ? "phase.escalate" : "phase.retry";
      const phase = command.phase ?? rerunTarget(state, run.pipeline, type);
      if (!phase)
        return refused(command, `\`/${command.kind}\` was not run: the run has no phase to run again.`);
      if (!run.pipeline.phases.some((p) => p.id === phase)) {
        const ids = run.pipeline.phases.map((p) => `\`${p.id}\``).join(", ");
        return refused(
          command,
          `\`/${command.kind}\` was not run: the pipeline \`${run.pipeline.name}\` has no phase \`${phase}\`. Its phases: ${ids}.`,
        );
      }
      return { key: `comment/${input.commentId}/${index}`, event: { type, phaseId: phase, by }, phase };
    }
  }
}

function refused(command: KnownCommand, reply: string): PlannedCommand {
  return { kind: command.kind, outcome: "refused", reply };
}
