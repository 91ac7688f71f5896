import { describe, expect, it } from "vitest";
import { approversOf, type ReviewJson } from "../../src/forge/github/approvals-on-head.js";

const HEAD = "1111111111111111111111111111111111111111";
const OLD = "0000000000000000000000000000000000000000";

let nextId = 1;
const review = (login: string | null, state: string, commit = HEAD): ReviewJson => ({
  id: nextId++,
  state,
  commit_id: commit,
  user: login === null ? null : { login, type: "User" },
});
const logins = (reviews: ReviewJson[]) => approversOf(reviews, HEAD).map((u) => u.login);

describe("github forge > approvers of the head, from a pull request's reviews", () => {
  it("takes each reviewer's latest verdict: changes requested or a dismissal withdraws an earlier approval", () => {
    expect(logins([review("alice", "APPROVED"), review("alice", "CHANGES_REQUESTED")])).toEqual([]);
    expect(logins([review("bob", "DISMISSED")])).toEqual([]);
    expect(logins([review("carol", "CHANGES_REQUESTED"), review("carol", "APPROVED")])).toEqual(["carol"]);
  });

  it("a comment or a pending review after an approval leaves it standing", () => {
    expect(
      logins([review("alice", "APPROVED"), review("alice", "COMMENTED"), review("alice", "PENDING")]),
    ).toEqual(["alice"]);
  });

  it("only an approval of the head counts; a newer approval of the head replaces one of an older commit", () => {
    expect(logins([review("alice", "APPROVED", OLD)])).toEqual([]);
    expect(logins([review("alice", "APPROVED", OLD), review("alice", "APPROVED")])).toEqual(["alice"]);
    expect(logins([review("alice", "APPROVED"), review("alice", "APPROVED", OLD)])).toEqual([]);
  });

  it("orders by review id, not by list order, and knows a login whatever its case", () => {
    const approved = review("Alice", "APPROVED");
    const withdrawn = review("alice", "CHANGES_REQUESTED");
    expect(logins([withdrawn, approved])).toEqual([]);
  });

  it("a reviewer approving twice is one approver; a deleted user is none", () => {
    expect(
      logins([review("alice", "APPROVED"), review("alice", "APPROVED"), review(null, "APPROVED")]),
    ).toEqual(["alice"]);
  });
});
