import { checkReviewer } from "../../github/reviewer-rules.js";
import type { ApprovalsInput } from "../forge.js";
import { callGitHub } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";
import { defaultBranch } from "./prepare-branch.js";

const PER_PAGE = 100;
/**
 * 1,000 reviews on one pull request is far past any we gate on. Past that nothing counts: a later
 * review left unread could have withdrawn an approval read earlier.
 */
const MAX_PAGES = 10;
/** Review states that say where a reviewer stands; a comment or a pending review says nothing. */
const VERDICTS = new Set(["APPROVED", "CHANGES_REQUESTED", "DISMISSED"]);

export interface ReviewJson {
  id: number;
  state: string;
  commit_id: string | null;
  user: { login: string; type?: string } | null;
}

/**
 * Who approved `head` on pull request `pull` so that the approval gate counts it, as `@login`s:
 * each reviewer's latest verdict must be an approval of `head`, by someone the reviewer rules
 * accept (src/github/reviewer-rules.ts, the same as for a review arriving by webhook). Costs one
 * list request per 100 reviews, one permission read per approver who is not a bot, and a config
 * read only when the run's starter approved.
 */
export async function approvalsOnHead(
  gh: GitHubRepo,
  pull: number,
  input: ApprovalsInput,
  appSlug?: string,
): Promise<string[]> {
  const reviews = await listReviews(gh, pull);
  if (reviews === undefined) return [];
  const { approvals, objections } = verdictsOf(reviews, input.head);
  const where = {
    octokit: gh.octokit,
    owner: gh.owner,
    repo: gh.repo,
    defaultBranch: () => defaultBranch(gh),
    ...(appSlug === undefined ? {} : { appSlug }),
  };
  // A changes-requested review from someone whose review counts clears the approvals before it,
  // as it does when it arrives by webhook while the run waits.
  // Newest first, and only those that could clear an approval: one permission read at most, usually.
  let cutoff = 0;
  const oldest = approvals[0]?.id ?? Number.POSITIVE_INFINITY;
  for (const objection of [...objections].reverse()) {
    if (objection.id < oldest) break;
    const refusal = await checkReviewer(where, objection.user, {
      approving: false,
      startedBy: input.startedBy,
    });
    if (refusal === undefined) {
      cutoff = objection.id;
      break;
    }
  }
  const counted: string[] = [];
  for (const approval of approvals) {
    if (approval.id <= cutoff) continue;
    const refusal = await checkReviewer(where, approval.user, {
      approving: true,
      startedBy: input.startedBy,
    });
    if (refusal === undefined) counted.push(`@${approval.user.login}`);
  }
  return counted;
}

/**
 * The reviewers whose latest verdict approves `head`. A later changes-requested review cancels an
 * earlier approval, and a dismissed approval is listed with the state DISMISSED; a comment after
 * an approval leaves it standing. Review ids grow with time, whatever order the list came in.
 */
export function approversOf(reviews: ReviewJson[], head: string): { login: string; type?: string }[] {
  return verdictsOf(reviews, head).approvals.map((approval) => approval.user);
}

type Verdict = { id: number; user: NonNullable<ReviewJson["user"]> };

/**
 * Each reviewer's latest verdict: approvals of `head`, and objections (changes requested, of any
 * commit), newest last. An objection clears the approvals given before it, if its author's review
 * counts; the caller checks that.
 */
export function verdictsOf(
  reviews: ReviewJson[],
  head: string,
): { approvals: Verdict[]; objections: Verdict[] } {
  const latest = new Map<string, ReviewJson & { user: NonNullable<ReviewJson["user"]> }>();
  for (const review of [...reviews].sort((a, b) => a.id - b.id)) {
    const user = review.user;
    if (user === null || !VERDICTS.has(review.state)) continue;
    latest.set(user.login.toLowerCase(), { ...review, user });
  }
  const verdicts = [...latest.values()].sort((a, b) => a.id - b.id);
  return {
    approvals: verdicts
      .filter((review) => review.state === "APPROVED" && review.commit_id === head)
      .map(({ id, user }) => ({ id, user })),
    objections: verdicts
      .filter((review) => review.state === "CHANGES_REQUESTED")
      .map(({ id, user }) => ({ id, user })),
  };
}

/** The pull request's reviews, or undefined when there are more than {@link MAX_PAGES} pages of them. */
async function listReviews(gh: GitHubRepo, pull: number): Promise<ReviewJson[] | undefined> {
  const reviews: ReviewJson[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { data } = await callGitHub(`reading the reviews of pull request #${pull}`, () =>
      gh.octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", {
        owner: gh.owner,
        repo: gh.repo,
        pull_number: pull,
        per_page: PER_PAGE,
        ...(page > 1 ? { page } : {}),
      }),
    );
    for (const { id, state, commit_id, user } of data)
      reviews.push({ id: Number(id), state, commit_id, user });
    if (data.length < PER_PAGE) return reviews;
  }
  return undefined;
}
