import { describe, expect, it } from "vitest";
import { InvalidTransition, initialState, transition } from "../../src/engine/transition.js";
import type { RunEvent, RunState } from "../../src/engine/types.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";

const HEAD = "1111111111111111111111111111111111111111";
const OLD = "0000000000000000000000000000000000000000";
const NEW = "2222222222222222222222222222222222222222";

function pipeline(minApprovals: number): ResolvedPipeline {
  return {
    name: "p",
    labels: [],
    phases: [
      { kind: "wait", id: "cooldown", name: "Cooldown", wait: "1h", waitMs: 3_600_000 },
      { kind: "approval", id: "review", name: "Review", minApprovals },
    ],
  };
}

/** A run waiting for approval of HEAD, with `approvals` given so far. */
function awaiting(approvals?: string[]): RunState {
  return {
    ...initialState(),
    seq: 4,
    status: "awaiting_approval",
    step: "approval",
    phaseIndex: 1,
    head: HEAD,
    ...(approvals ? { approvals } : {}),
  };
}

const grant = (by: string, sha?: string): RunEvent => ({
  type: "approval.granted",
  phaseId: "review",
  by,
  ...(sha ? { sha } : {}),
});

/** A push of `head` on top of `previousHead`, as `pull_request.synchronize` reports it. */
const pushed = (head: string, previousHead: string): RunEvent => ({
  type: "approval.revoked",
  by: "@bob",
  reason: "new-commit",
  head,
  previousHead,
});

/** A dismissal of `reviewer`'s review (of `commit`, when given). */
const dismissed = (reviewer: string, commit?: string): RunEvent => ({
  type: "approval.revoked",
  by: "@bob",
  reason: "dismissed",
  reviewer,
  ...(commit ? { commit } : {}),
});

describe("engine > approval of a commit", () => {
  it("an approval of the head ends the run", () => {
    const { state, effects } = transition(awaiting(), grant("@alice", HEAD), pipeline(1));
    expect(state).toMatchObject({ status: "succeeded", step: "done" });
    expect(state.approvals).toBeUndefined();
    expect(effects).toEqual([]);
  });

  it("an approval with no commit (the local command) approves the head", () => {
    expect(transition(awaiting(), grant("alice"), pipeline(1)).state.status).toBe("succeeded");
  });

  it("an approval of an older commit is refused and changes nothing", () => {
    const before = awaiting();
    expect(() => transition(before, grant("@alice", OLD), pipeline(1))).toThrow(InvalidTransition);
    expect(() => transition(before, grant("@alice", OLD), pipeline(1))).toThrow(
      "@alice approved 0000000, but the branch is at 1111111",
    );
    expect(before).toEqual(awaiting());
  });

  it("approvals below min_approvals are kept until enough arrive", () => {
    const one = transition(awaiting(), grant("@alice", HEAD), pipeline(2)).state;
    expect(one).toMatchObject({ status: "awaiting_approval", approvals: ["@alice"] });
    expect(transition(one, grant("@bob", HEAD), pipeline(2)).state.status).toBe("succeeded");
  });
});

describe("engine > approval.revoked", () => {
  const revoke = (reason: "new-commit" | "dismissed" | "changes-requested", head?: string): RunEvent => ({
    type: "approval.revoked",
    phaseId: "review",
    by: "@carol",
    reason,
    ...(head ? { head } : {}),
  });

  it.each(["dismissed", "changes-requested"] as const)(
    "%s clears the approvals so far; the run still waits",
    (reason) => {
      const { state, effects } = transition(awaiting(["@alice"]), revoke(reason), pipeline(2));
      expect(state).toMatchObject({ status: "awaiting_approval", step: "approval", head: HEAD });
      expect(state.approvals).toBeUndefined();
      expect(effects).toEqual([]);
      // Alice must approve again: her earlier approval no longer counts toward the two needed.
      const again = transition(state, grant("@alice", HEAD), pipeline(2)).state;
      expect(again).toMatchObject({ status: "awaiting_approval", approvals: ["@alice"] });
    },
  );

  it("a new commit moves the head: only an approval of the new commit counts", () => {
    const state = transition(awaiting(["@alice"]), revoke("new-commit", NEW), pipeline(2)).state;
    expect(state).toMatchObject({ status: "awaiting_approval", head: NEW });
    expect(state.approvals).toBeUndefined();
    expect(() => transition(state, grant("@bob", HEAD), pipeline(1))).toThrow("the branch is at 2222222");
    expect(transition(state, grant("@bob", NEW), pipeline(1)).state.status).toBe("succeeded");
  });

  it("while the run is working, its own commit is no news, and a person's push moves the head it knows", () => {
    // The app's commit already set the run's head: the push event for it names that head.
    const working: RunState = { ...initialState(), status: "running", step: "comment", head: NEW };
    expect(() => transition(working, revoke("new-commit", NEW), pipeline(1))).toThrow(
      "run is not waiting for approval (status running)",
    );
    // A person pushes on top during a cooldown: an approval must later bind to that commit.
    const cooling: RunState = {
      ...initialState(),
      status: "waiting",
      step: "wait",
      phaseIndex: 0,
      head: HEAD,
    };
    const pushed = { ...revoke("new-commit", NEW), previousHead: HEAD } as RunEvent;
    expect(transition(cooling, pushed, pipeline(1)).state).toMatchObject({ status: "waiting", head: NEW });
    // A dismissal while the run works has nothing to clear.
    expect(() => transition(working, revoke("dismissed"), pipeline(1))).toThrow(
      "run is not waiting for approval",
    );
  });

  it("a revocation for another phase, or of an ended run, is refused", () => {
    const other: RunEvent = { type: "approval.revoked", phaseId: "cooldown", by: "@c", reason: "dismissed" };
    expect(() => transition(awaiting(), other, pipeline(1))).toThrow('the run is at "review"');
    const ended: RunState = { ...awaiting(), status: "succeeded", step: "done" };
    expect(() => transition(ended, revoke("dismissed"), pipeline(1))).toThrow("run has succeeded");
  });

  it("a late push event for an older commit is no news: the head stays and so do the approvals", () => {
    const late: RunEvent = {
      type: "approval.revoked",
      phaseId: "review",
      by: "@bob",
      reason: "new-commit",
      head: OLD,
      previousHead: NEW,
    };
    expect(() => transition(awaiting(["@alice"]), late, pipeline(2))).toThrow(
      "the push is not new to the run",
    );
    const onTop: RunEvent = { ...late, head: NEW, previousHead: HEAD };
    const { state } = transition(awaiting(["@alice"]), onTop, pipeline(2));
    expect(state.head).toBe(NEW);
    expect(state.approvals).toBeUndefined();
  });
});

describe("engine > approvals given before the approval phase (approval.requested)", () => {
  /** A run that has just entered its approval phase: the request is being made. */
  function entering(): RunState {
    return { ...initialState(), seq: 3, status: "running", step: "approval", phaseIndex: 1, head: HEAD };
  }
  const requested = (approvedBy?: string[], sha = HEAD): RunEvent => ({
    type: "approval.requested",
    ...(approvedBy ? { approvedBy, sha } : {}),
  });

  it("with no earlier approvals, the run waits for approval as before", () => {
    const { state, effects } = transition(entering(), requested(), pipeline(1));
    expect(state).toMatchObject({ status: "awaiting_approval", step: "approval" });
    expect(state.approvals).toBeUndefined();
    expect(effects).toEqual([]);
  });

  it("enough earlier approvals of the head pass the phase, as approvals arriving now would", () => {
    const { state, effects } = transition(entering(), requested(["@alice", "@bob"]), pipeline(2));
    expect(state).toMatchObject({ status: "succeeded", step: "done" });
    expect(state.approval).toEqual({ phaseId: "review", head: HEAD, by: ["@alice", "@bob"] });
    expect(state.approvals).toBeUndefined();
    expect(effects).toEqual([]);
    // The same end as two reviews granted one after the other.
    const one = transition(
      transition(entering(), requested(), pipeline(2)).state,
      grant("@alice", HEAD),
      pipeline(2),
    );
    const two = transition(one.state, grant("@bob", HEAD), pipeline(2)).state;
    expect(two.approval).toEqual(state.approval);
  });

  it("too few are counted and the run still waits; a later approval adds to them", () => {
    const { state } = transition(entering(), requested(["@alice"]), pipeline(2));
    expect(state).toMatchObject({ status: "awaiting_approval", step: "approval", approvals: ["@alice"] });
    expect(() => transition(state, grant("@alice", HEAD), pipeline(2))).toThrow(
      "@alice has already approved",
    );
    const done = transition(state, grant("@bob", HEAD), pipeline(2)).state;
    expect(done).toMatchObject({ status: "succeeded", approval: { by: ["@alice", "@bob"] } });
  });

  it("the same login twice counts once", () => {
    const { state } = transition(entering(), requested(["@alice", "@alice"]), pipeline(2));
    expect(state).toMatchObject({ status: "awaiting_approval", approvals: ["@alice"] });
  });

  it("approvals of another commit than the head count for nothing", () => {
    const { state } = transition(entering(), requested(["@alice"], OLD), pipeline(1));
    expect(state).toMatchObject({ status: "awaiting_approval", step: "approval" });
    expect(state.approvals).toBeUndefined();
  });

  it("a run not entering an approval phase refuses it", () => {
    expect(() => transition(awaiting(), requested(["@alice"]), pipeline(1))).toThrow(InvalidTransition);
  });
});

describe("engine > merging after approval (merge_after_approval)", () => {
  const merging = (): ResolvedPipeline => ({ ...pipeline(1), mergeAfterApproval: "rebase" });

  it("asks to merge exactly the approved head, and ends merged", () => {
    const { state, effects } = transition(awaiting(), grant("@alice", HEAD), merging());
    expect(state).toMatchObject({
      status: "running",
      step: "merge",
      approval: { head: HEAD, by: ["@alice"] },
    });
    expect(effects).toEqual([{ kind: "merge_pull", key: `merge@${state.seq}`, sha: HEAD, method: "rebase" }]);
    const merged = transition(state, { type: "run.merged", by: "Atomic Scrum" }, merging()).state;
    expect(merged).toMatchObject({ status: "succeeded", reason: "merged by Atomic Scrum" });
    expect(merged.approval).toBeUndefined();
  });

  it("a refused merge ends the run approved, for a person to merge; a new commit reopens the approval", () => {
    const asked = transition(awaiting(), grant("@alice", HEAD), merging()).state;
    const refused = transition(asked, { type: "merge.refused", reason: "405" }, merging()).state;
    expect(refused).toMatchObject({ status: "succeeded", reason: "approved; not merged: 405" });
    const push: RunEvent = pushed(NEW, HEAD);
    const reopened = transition(refused, push, merging()).state;
    expect(reopened).toMatchObject({
      status: "awaiting_approval",
      step: "approval",
      phaseIndex: 1,
      head: NEW,
    });
    expect(reopened.approval).toBeUndefined();
    // The merge is asked again, under a new key, for the new head once it is approved.
    const again = transition(reopened, grant("@carol", NEW), merging());
    expect(again.effects).toEqual([
      { kind: "merge_pull", key: `merge@${again.state.seq}`, sha: NEW, method: "rebase" },
    ]);
  });

  it("without the setting, an approved run ends without a merge step", () => {
    const { state, effects } = transition(awaiting(), grant("@alice", HEAD), pipeline(1));
    expect(state.step).toBe("done");
    expect(effects).toEqual([]);
  });

  it("a merged run is not sent back by a later push", () => {
    const merged = transition(
      transition(awaiting(), grant("@alice", HEAD), merging()).state,
      { type: "run.merged", by: "x" },
      merging(),
    ).state;
    const push: RunEvent = pushed(NEW, HEAD);
    expect(() => transition(merged, push, merging())).toThrow(InvalidTransition);
  });
});

describe("engine > an approval binds to its commit after the run ended", () => {
  const approved = () => transition(awaiting(), grant("@alice", HEAD), pipeline(1)).state;

  it("a push on top of the approved head sends the run back to its approval phase, in a new round", () => {
    const push: RunEvent = pushed(NEW, HEAD);
    const reopened = transition(approved(), push, pipeline(1)).state;
    expect(reopened).toMatchObject({
      status: "awaiting_approval",
      step: "approval",
      phaseIndex: 1,
      head: NEW,
      round: 1,
    });
    expect(reopened.approval).toBeUndefined();
    expect(reopened.reason).toBeUndefined();
  });

  it("a late push event for an older commit, or a dismissal of someone else's review, changes nothing", () => {
    const late: RunEvent = pushed(HEAD, OLD);
    expect(() => transition(approved(), late, pipeline(1))).toThrow(InvalidTransition);
    const dismissal: RunEvent = dismissed("@carol");
    expect(() => transition(approved(), dismissal, pipeline(1))).toThrow(/not one of the approvals/);
    const own: RunEvent = dismissed("@alice");
    expect(transition(approved(), own, pipeline(1)).state.status).toBe("awaiting_approval");
  });

  it("a cancelled run, or one that succeeded without an approval, is never sent back", () => {
    const push: RunEvent = pushed(NEW, HEAD);
    const cancelled = transition(approved(), { type: "run.cancelled", by: "@bob" }, pipeline(1)).state;
    expect(cancelled.status).toBe("cancelled");
    expect(() => transition(cancelled, push, pipeline(1))).toThrow(InvalidTransition);
    const { approval: _gone, ...plain } = approved();
    expect(() => transition(plain, push, pipeline(1))).toThrow(InvalidTransition);
  });

  it("entering a second approval phase does not carry the first one's approval", () => {
    const two: ResolvedPipeline = {
      ...pipeline(1),
      phases: [...pipeline(1).phases, { kind: "approval", id: "final", name: "Final", minApprovals: 1 }],
    };
    const next = transition(awaiting(), grant("@alice", HEAD), two).state;
    expect(next).toMatchObject({ step: "approval", phaseIndex: 2 });
    expect(next.approval).toBeUndefined();
  });
});

describe("engine > nothing unapproved is merged", () => {
  const merging = (): ResolvedPipeline => ({ ...pipeline(1), mergeAfterApproval: "merge" });
  const atMerge = () => transition(awaiting(), grant("@alice", HEAD), merging()).state;

  it("a push while the merge is due sends the run back to its approval; the merge never names the new commit", () => {
    const push: RunEvent = pushed(NEW, HEAD);
    const { state, effects } = transition(atMerge(), push, merging());
    expect(state).toMatchObject({ status: "awaiting_approval", step: "approval", head: NEW });
    expect(effects).toEqual([]);
  });

  it("a changes-requested review or a dismissal of the approval while the merge is due withdraws it", () => {
    const changes: RunEvent = { type: "approval.revoked", by: "@bob", reason: "changes-requested" };
    expect(transition(atMerge(), changes, merging()).state.status).toBe("awaiting_approval");
    const dismissal: RunEvent = dismissed("@alice", HEAD);
    expect(transition(atMerge(), dismissal, merging()).state.status).toBe("awaiting_approval");
  });

  it("a late dismissal of an approval of an older commit takes nothing back", () => {
    const late: RunEvent = dismissed("@alice", OLD);
    expect(() => transition(atMerge(), late, merging())).toThrow(/not the approved head/);
  });
});
