import { createHash } from "node:crypto";
import { type FieldNode, Kind, parse, type SelectionSetNode, valueFromASTUntyped } from "graphql";
import { githubApi } from "../helpers/github/api.js";

/**
 * A small stateful GitHub for one repository: just the endpoints the app calls, as persisted nock
 * interceptors on {@link githubApi} (so every request is still checked against GitHub's OpenAPI
 * description and GraphQL schema). A request no route knows matches no interceptor and fails.
 */

export interface FakeCommit {
  oid: string;
  parent: string | undefined;
  /** The full message: headline, blank line, body (as GitHub joins them). */
  message: string;
  files: Map<string, string>;
}

export interface FakePull {
  number: number;
  state: "open" | "closed";
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  /** Set when merged through the API: the commit merged. */
  mergedSha?: string;
}

export interface FakeComment {
  id: number;
  /** Issue or pull request number. */
  thread: number;
  body: string;
  user: { login: string; type: "User" | "Bot" };
  /** Bodies sent by PATCH, in order. */
  edits: string[];
}

/** A check run on a commit: the app's own (phase and approval checks) or a CI run a test adds. */
export interface FakeCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: "queued" | "in_progress" | "completed";
  conclusion: string | null;
  output: { title?: string; summary?: string } | null;
  /** The app that wrote it: the app's own id for runs it created through the API. */
  app_id: number;
  details_url: string | null;
  external_id: string | null;
}

/** A review of a pull request, as a test adds it (GitHub lists them oldest first). */
export interface FakeReview {
  id: number;
  pull: number;
  user: { login: string; type: "User" | "Bot" };
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";
  commit_id: string;
}

/** The app id of GitHub Actions, whose check runs are a repository's usual CI. */
export const ACTIONS_APP_ID = 15368;

/** What a request carries, for a fault to decide whether it is the one to break. */
export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/**
 * A fault: `when` picks the request; `lost` says whether GitHub carried it out before the answer
 * was lost (a 502 after the write landed) or refused it outright (a 502 and nothing done).
 */
export interface Fault {
  when: (request: FakeRequest, github: FakeGitHub) => boolean;
  lost: boolean;
  /** Set once the fault has fired; a fault fires once. */
  fired?: boolean;
}

/**
 * A rate limit GitHub answers instead of carrying the request out: `status` 403 or 429 with the
 * headers GitHub documents (`retry-after` seconds; `x-ratelimit-remaining: 0` with
 * `x-ratelimit-reset` in epoch seconds). Fires `times` times (default once).
 */
export interface RateLimitFault {
  when: (request: FakeRequest, github: FakeGitHub) => boolean;
  status: 403 | 429;
  headers: Record<string, string>;
  message: string;
  times?: number;
  fired?: number;
}

type Answer = [number, unknown] | [number, unknown, Record<string, string>];
type Handler = (match: RegExpExecArray, request: FakeRequest) => Answer;

export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  installationId: number;
  defaultBranch: string;
  /** Files at the head of the default branch. */
  files: Record<string, string>;
  /** Collaborator roles by login (role_name); anyone else is not a collaborator (404). */
  roles: Record<string, "read" | "triage" | "write" | "maintain" | "admin">;
  /** `.github/atomic-scrum.yml`; undefined answers 404, so the app uses its defaults. */
  config?: string;
  /** The app's bot login, as GitHub shows it on the app's comments. */
  botLogin?: string;
  /** The GitHub App's id: check runs the app creates carry it (default 1, the tests' Probot). */
  appId?: number;
}

export type FakeGitHub = ReturnType<typeof fakeGitHub>;

const BOT = { login: "atomic-scrum[bot]", type: "Bot" as const };
/** The repository id in the @octokit/webhooks-examples payloads: a pull request's head repo is this one. */
export const EXAMPLE_REPO_ID = 186853002;

/** A reaction the app put on a comment. */
export interface FakeReaction {
  commentId: number;
  content: string;
}

export function fakeGitHub(options: FakeGitHubOptions) {
  const bot = { ...BOT, ...(options.botLogin ? { login: options.botLogin } : {}) };
  const commits = new Map<string, FakeCommit>();
  const refs = new Map<string, string>();
  const blobs = new Map<string, string>();
  const pulls: FakePull[] = [];
  const comments: FakeComment[] = [];
  const faults: Fault[] = [];
  const rateLimits: RateLimitFault[] = [];
  /** Every request that reached the fake, in order (token requests included). */
  const requests: FakeRequest[] = [];
  const reactions: FakeReaction[] = [];
  /** Pull requests merged through the API, in order. */
  const merges: {
    number: number;
    sha: string;
    method: string;
    commit_title?: string;
    commit_message?: string;
    /** Issues of this repository GitHub would close: keywords in the merged messages and the PR body. */
    closes: number[];
  }[] = [];
  /** While set, every merge is refused with this message (405), as branch protection would. */
  let mergeRefusal: string | undefined;
  /** Check runs in the order they were created: newest last. */
  const checkRuns: FakeCheckRun[] = [];
  const reviews: FakeReview[] = [];
  let nextReviewId = 9000;
  const appId = options.appId ?? 1;
  let refuseCheckWrites = false;
  let nextCheckRunId = 5000;
  /** Refs created through the API, in order, with the SHA they were created at. */
  const createdRefs: { ref: string; sha: string }[] = [];
  /** Issue and PR numbers share one sequence, as on GitHub; the issue in the payload is #1. */
  let nextNumber = 2;
  let nextCommentId = 1000;

  const rootOid = oidOf(`root ${options.owner}/${options.repo}`);
  commits.set(rootOid, {
    oid: rootOid,
    parent: undefined,
    message: "Initial commit",
    files: new Map(Object.entries(options.files)),
  });
  refs.set(options.defaultBranch, rootOid);

  const repoPath = `/repos/${options.owner}/${options.repo}`;
  const routes: { method: string; pattern: RegExp; handle: Handler }[] = [];
  const route = (method: string, path: string, handle: Handler) => {
    routes.push({ method, pattern: new RegExp(`^${path}$`), handle });
  };

  route("POST", `/app/installations/${options.installationId}/access_tokens`, () => [
    201,
    { token: "ghs_fake", expires_at: "2999-01-01T00:00:00Z", permissions: {} },
  ]);

  route("GET", repoPath, () => [
    200,
    {
      id: 1296269,
      name: options.repo,
      full_name: `${options.owner}/${options.repo}`,
      default_branch: options.defaultBranch,
      private: false,
    },
  ]);

  // The configuration, or a file of the default branch as the repository started (a pipeline).
  route("GET", `${repoPath}/contents/(.+)`, (match) => {
    const path = match[1] ?? "";
    const content = path === ".github/atomic-scrum.yml" ? options.config : options.files[path];
    if (content === undefined) return notFound();
    return [
      200,
      {
        type: "file",
        path: match[1],
        sha: blobSha(content),
        encoding: "base64",
        content: Buffer.from(content).toString("base64"),
      },
    ];
  });

  route("GET", `${repoPath}/collaborators/([^/]+)/permission`, (match) => {
    const login = match[1] ?? "";
    const role = options.roles[login];
    if (role === undefined) return notFound();
    const base = role === "maintain" ? "write" : role === "triage" ? "read" : role;
    return [200, { permission: base, role_name: role, user: { login } }];
  });

  route("GET", `${repoPath}/git/ref/heads/(.+)`, (match) => {
    const branch = match[1] ?? "";
    const sha = refs.get(branch);
    if (sha === undefined) return notFound();
    return [200, { ref: `refs/heads/${branch}`, node_id: "REF_1", object: { sha, type: "commit", url: "" } }];
  });

  route("POST", `${repoPath}/git/refs`, (_match, request) => {
    const { ref, sha } = request.body as { ref: string; sha: string };
    const branch = ref.replace(/^refs\/heads\//, "");
    if (refs.has(branch)) return [422, { message: "Reference already exists" }];
    if (!commits.has(sha)) return [422, { message: "Object does not exist" }];
    refs.set(branch, sha);
    createdRefs.push({ ref, sha });
    return [201, { ref, node_id: "REF_2", object: { sha, type: "commit", url: "" } }];
  });

  route("GET", `${repoPath}/git/trees/([0-9a-f]{40})`, (match) => {
    const commit = commits.get(match[1] ?? "");
    if (commit === undefined) return notFound();
    const tree = [...commit.files].map(([path, content]) => ({
      path,
      mode: "100644",
      type: "blob",
      sha: rememberBlob(content),
      size: Buffer.byteLength(content),
    }));
    return [200, { sha: commit.oid, url: "", tree, truncated: false }];
  });

  route("GET", `${repoPath}/git/blobs/([0-9a-f]{40})`, (match) => {
    const content = blobs.get(match[1] ?? "");
    if (content === undefined) return notFound();
    return [
      200,
      {
        sha: match[1],
        node_id: "BLOB",
        size: Buffer.byteLength(content),
        url: "",
        encoding: "base64",
        content: Buffer.from(content).toString("base64"),
      },
    ];
  });

  route("GET", `${repoPath}/pulls`, (_match, request) => {
    const { head, state } = request.query;
    const listed = pulls.filter(
      (pull) =>
        (head === undefined || `${options.owner}:${pull.head}` === head) &&
        (state === "all" || pull.state === (state ?? "open")),
    );
    // GitHub lists the newest first.
    return [200, listed.reverse().map(pullJson)];
  });

  // Merging as GitHub does: a draft is refused (405), and `sha` must be the head (409).
  route("PUT", `${repoPath}/pulls/(\\d+)/merge`, (match, request) => {
    const pull = pulls.find((p) => p.number === Number(match[1]));
    if (pull === undefined) return notFound();
    const body = request.body as {
      sha?: string;
      merge_method?: string;
      commit_title?: string;
      commit_message?: string;
    };
    const head = refs.get(pull.head) ?? "";
    if (pull.state !== "open" || pull.draft || mergeRefusal !== undefined) {
      return [405, { message: mergeRefusal ?? "Pull Request is not mergeable" }];
    }
    if (body.sha !== undefined && body.sha !== head) {
      return [409, { message: "Head branch was modified. Review and try the merge again." }];
    }
    pull.state = "closed";
    pull.mergedSha = head;
    const method = body.merge_method ?? "merge";
    // What lands on the base branch, as GitHub writes it when the request leaves it out.
    const merged = branchCommits(pull.head).map((c) => c.message);
    // A merge commit brings the branch's commits along; a squash leaves only its own message.
    const landed =
      method === "rebase"
        ? merged
        : [
            ...(method === "merge" ? merged : []),
            `${body.commit_title ?? (method === "squash" ? `${pull.title} (#${pull.number})` : `Merge pull request #${pull.number} from ${options.owner}/${pull.head}`)}\n\n${
              body.commit_message ??
              (method === "squash" ? merged.map((m) => `* ${m}`).join("\n\n") : pull.title)
            }`,
          ];
    merges.push({
      number: pull.number,
      sha: head,
      method,
      ...(body.commit_title === undefined ? {} : { commit_title: body.commit_title }),
      ...(body.commit_message === undefined ? {} : { commit_message: body.commit_message }),
      closes: closedBy([...landed, pull.body], options.owner, options.repo),
    });
    return [200, { sha: "m".repeat(40), merged: true, message: "Pull Request successfully merged" }];
  });

  route("POST", `${repoPath}/pulls`, (_match, request) => {
    const body = request.body as { title: string; head: string; base: string; body: string; draft: boolean };
    if (!refs.has(body.head)) return [422, { message: "Validation Failed", errors: [{ field: "head" }] }];
    // GitHub counts characters (code points), as it does for an issue title, whose maximum is 256.
    if (tooLong(body.title, PULL_TITLE_MAX) || tooLong(body.body ?? "", BODY_MAX))
      return [
        422,
        {
          message: "Validation Failed",
          errors: [{ resource: "PullRequest", code: "custom", message: "title or body is too long" }],
        },
      ];
    if (pulls.some((pull) => pull.head === body.head && pull.state === "open")) {
      return [
        422,
        {
          message: "Validation Failed",
          errors: [{ message: `A pull request already exists for ${options.owner}:${body.head}.` }],
        },
      ];
    }
    const pull: FakePull = { number: nextNumber++, state: "open", ...body };
    pulls.push(pull);
    return [201, pullJson(pull)];
  });

  route("GET", `${repoPath}/pulls/(\\d+)`, (match) => {
    const pull = pulls.find((p) => p.number === Number(match[1]));
    return pull === undefined ? notFound() : [200, pullJson(pull)];
  });

  route("GET", `${repoPath}/pulls/(\\d+)/reviews`, (match, request) => {
    const pull = Number(match[1]);
    if (!pulls.some((p) => p.number === pull)) return notFound();
    const perPage = Number(request.query.per_page ?? 30);
    const page = Number(request.query.page ?? 1);
    const all = reviews.filter((r) => r.pull === pull);
    return [200, all.slice((page - 1) * perPage, page * perPage).map(reviewJson)];
  });

  // Reacting twice with the same content answers 200 with the existing reaction, as GitHub does.
  route("POST", `${repoPath}/issues/comments/(\\d+)/reactions`, (match, request) => {
    const reaction = { commentId: Number(match[1]), content: (request.body as { content: string }).content };
    const known = reactions.find((r) => r.commentId === reaction.commentId && r.content === reaction.content);
    if (!known) reactions.push(reaction);
    return [known ? 200 : 201, { id: reactions.length, content: reaction.content }];
  });

  route("GET", `${repoPath}/issues/(\\d+)/comments`, (match, request) => {
    const thread = Number(match[1]);
    const perPage = Number(request.query.per_page ?? 30);
    const page = Number(request.query.page ?? 1);
    const all = comments.filter((c) => c.thread === thread);
    return [200, all.slice((page - 1) * perPage, page * perPage).map(commentJson)];
  });

  route("POST", `${repoPath}/issues/(\\d+)/comments`, (match, request) => {
    const thread = Number(match[1]);
    if (thread !== 1 && !pulls.some((pull) => pull.number === thread)) return notFound();
    if (tooLong((request.body as { body: string }).body, BODY_MAX)) return bodyTooLong();
    const comment: FakeComment = {
      id: nextCommentId++,
      thread,
      body: (request.body as { body: string }).body,
      user: bot,
      edits: [],
    };
    comments.push(comment);
    return [201, commentJson(comment)];
  });

  route("PATCH", `${repoPath}/issues/comments/(\\d+)`, (match, request) => {
    const comment = comments.find((c) => c.id === Number(match[1]));
    if (comment === undefined) return notFound();
    if (tooLong((request.body as { body: string }).body, BODY_MAX)) return bodyTooLong();
    comment.body = (request.body as { body: string }).body;
    comment.edits.push(comment.body);
    return [200, commentJson(comment)];
  });

  route("POST", `${repoPath}/check-runs`, (_match, request) => {
    if (refuseCheckWrites) return [502, { message: "Server Error" }];
    if (outputTooLong(request.body)) return bodyTooLong();
    const body = request.body as Partial<FakeCheckRun> & { name: string; head_sha: string };
    const run: FakeCheckRun = {
      id: nextCheckRunId++,
      name: body.name,
      head_sha: body.head_sha,
      status: body.status ?? "queued",
      conclusion: body.conclusion ?? null,
      output: body.output ?? null,
      app_id: appId,
      details_url: body.details_url ?? null,
      external_id: body.external_id ?? null,
    };
    if (body.conclusion !== undefined) run.status = "completed";
    checkRuns.push(run);
    return [201, checkRunJson(run)];
  });

  route("PATCH", `${repoPath}/check-runs/(\\d+)`, (match, request) => {
    if (refuseCheckWrites) return [502, { message: "Server Error" }];
    if (outputTooLong(request.body)) return bodyTooLong();
    const run = checkRuns.find((r) => r.id === Number(match[1]));
    if (run === undefined) return notFound();
    const body = request.body as Partial<FakeCheckRun>;
    if (body.name !== undefined) run.name = body.name;
    if (body.status !== undefined) run.status = body.status;
    if (body.conclusion !== undefined) {
      run.conclusion = body.conclusion;
      run.status = "completed";
    }
    if (body.output !== undefined) run.output = body.output;
    if (body.details_url !== undefined) run.details_url = body.details_url;
    if (body.external_id !== undefined) run.external_id = body.external_id;
    return [200, checkRunJson(run)];
  });

  // `ref` may be a SHA or a branch; GitHub lists the newest first.
  route("GET", `${repoPath}/commits/([^/]+)/check-runs`, (match, request) => {
    const ref = match[1] ?? "";
    const sha = refs.get(ref) ?? ref;
    const perPage = Number(request.query.per_page ?? 30);
    const page = Number(request.query.page ?? 1);
    const all = checkRuns.filter((r) => r.head_sha === sha).reverse();
    return [
      200,
      {
        total_count: all.length,
        check_runs: all.slice((page - 1) * perPage, page * perPage).map(checkRunJson),
      },
    ];
  });

  route("POST", "/graphql", (_match, request) => {
    const { query, variables } = request.body as { query: string; variables: Record<string, unknown> };
    if (/\bcreateCommitOnBranch\b/.test(query)) return createCommitOnBranch(variables);
    if (/\bmarkPullRequestReadyForReview\b/.test(query)) {
      const pull = pulls.find((p) => `PR_${p.number}` === variables.id);
      if (pull === undefined)
        return [200, { data: null, errors: [{ type: "NOT_FOUND", message: "no such pull request" }] }];
      pull.draft = false;
      return [200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } }];
    }
    return repositoryQuery(query, variables);
  });

  /**
   * Any query on `repository`: each field under it (by its alias) is a branch's `ref` or a blob's
   * `object`, whatever the document names them. Both come back whole; the client reads what it asked.
   */
  function repositoryQuery(query: string, variables: Record<string, unknown>): Answer {
    const operation = parse(query).definitions[0];
    const repository =
      operation?.kind === Kind.OPERATION_DEFINITION ? fieldsOf(operation.selectionSet)[0] : undefined;
    if (repository?.name.value !== "repository") {
      throw new Error(`the fake GitHub does not answer this GraphQL document:\n${query}`);
    }
    const args = argumentsOf(repository, variables);
    if (args.owner !== options.owner || args.name !== options.repo) {
      return [
        200,
        {
          data: { repository: null },
          errors: [{ type: "NOT_FOUND", path: ["repository"], message: "Could not resolve to a Repository" }],
        },
      ];
    }
    const data: Record<string, unknown> = {};
    for (const field of fieldsOf(repository.selectionSet)) {
      const key = field.alias?.value ?? field.name.value;
      const at = argumentsOf(field, variables);
      if (field.name.value === "ref") data[key] = refJson(String(at.qualifiedName));
      else if (field.name.value === "object") data[key] = blobJson(String(at.oid));
      else throw new Error(`the fake GitHub does not answer repository.${field.name.value}`);
    }
    return [200, { data: { repository: data } }];
  }

  function refJson(qualifiedName: string) {
    const head = refs.get(qualifiedName.replace(/^refs\/heads\//, ""));
    return head === undefined ? null : { target: { oid: head, history: { nodes: history(head, 20) } } };
  }

  function blobJson(oid: string) {
    const content = blobs.get(oid);
    if (content === undefined) return null;
    const binary = content.includes("\0");
    return { text: binary ? null : content, isBinary: binary, isTruncated: false };
  }

  function createCommitOnBranch(variables: Record<string, unknown>): Answer {
    const input = variables.input as {
      branch: { repositoryNameWithOwner: string; branchName: string };
      expectedHeadOid: string;
      message: { headline: string; body?: string };
      fileChanges?: { additions?: { path: string; contents: string }[]; deletions?: { path: string }[] };
    };
    const branch = input.branch.branchName;
    const head = refs.get(branch);
    const error = (type: string, message: string): Answer => [
      200,
      {
        data: { createCommitOnBranch: null },
        errors: [{ type, path: ["createCommitOnBranch"], locations: [{ line: 2, column: 3 }], message }],
      },
    ];
    if (input.branch.repositoryNameWithOwner !== `${options.owner}/${options.repo}` || head === undefined) {
      return error("NOT_FOUND", `Could not resolve to a Ref with the name ${branch}.`);
    }
    if (input.expectedHeadOid !== head) {
      return error(
        "STALE_DATA",
        `Expected branch to point to "${input.expectedHeadOid}" but it did not. Pull and try again.`,
      );
    }
    const parent = commits.get(head);
    const files = new Map(parent?.files);
    for (const addition of input.fileChanges?.additions ?? []) {
      files.set(addition.path, Buffer.from(addition.contents, "base64").toString("utf8"));
    }
    for (const deletion of input.fileChanges?.deletions ?? []) files.delete(deletion.path);
    const body = input.message.body ?? "";
    const message = body === "" ? input.message.headline : `${input.message.headline}\n\n${body}`;
    const oid = oidOf(`${head}\n${message}\n${JSON.stringify([...files])}`);
    commits.set(oid, { oid, parent: head, message, files });
    refs.set(branch, oid);
    return [200, { data: { createCommitOnBranch: { commit: { oid } } } }];
  }

  function branchCommits(branch: string): FakeCommit[] {
    const base = new Set(history(refs.get(options.defaultBranch) ?? "", 1000).map((c) => c.oid));
    return history(refs.get(branch) ?? "", 1000)
      .filter((c) => !base.has(c.oid))
      .reverse()
      .map((c) => commits.get(c.oid) as FakeCommit);
  }

  function history(head: string, count: number): { oid: string; message: string }[] {
    const nodes: { oid: string; message: string }[] = [];
    for (let oid: string | undefined = head; oid !== undefined && nodes.length < count; ) {
      const commit = commits.get(oid);
      if (commit === undefined) break;
      nodes.push({ oid, message: commit.message });
      oid = commit.parent;
    }
    return nodes;
  }

  function rememberBlob(content: string): string {
    const sha = blobSha(content);
    blobs.set(sha, content);
    return sha;
  }

  function pullJson(pull: FakePull) {
    return {
      number: pull.number,
      state: pull.state,
      merged_at: pull.mergedSha === undefined ? null : "2025-01-01T00:00:00Z",
      node_id: `PR_${pull.number}`,
      title: pull.title,
      body: pull.body,
      draft: pull.draft,
      head: {
        ref: pull.head,
        sha: pull.mergedSha ?? refs.get(pull.head) ?? "",
        label: `${options.owner}:${pull.head}`,
        repo: { id: EXAMPLE_REPO_ID },
      },
      base: { ref: pull.base },
      html_url: `https://github.com/${options.owner}/${options.repo}/pull/${pull.number}`,
    };
  }

  function checkRunJson(run: FakeCheckRun) {
    return {
      id: run.id,
      name: run.name,
      head_sha: run.head_sha,
      status: run.status,
      conclusion: run.conclusion,
      external_id: run.external_id,
      details_url: run.details_url,
      output: { title: run.output?.title ?? null, summary: run.output?.summary ?? null },
      app: { id: run.app_id, slug: run.app_id === appId ? "atomic-scrum" : `app-${run.app_id}` },
    };
  }

  function reviewJson(review: FakeReview) {
    return {
      id: review.id,
      node_id: `PRR_${review.id}`,
      user: { ...review.user, id: review.id },
      body: "",
      state: review.state,
      commit_id: review.commit_id,
      author_association: "COLLABORATOR",
      submitted_at: "2025-01-01T00:00:00Z",
      html_url: `https://github.com/${options.owner}/${options.repo}/pull/${review.pull}#pullrequestreview-${review.id}`,
      pull_request_url: `https://api.github.com/repos/${options.owner}/${options.repo}/pulls/${review.pull}`,
    };
  }

  function commentJson(comment: FakeComment) {
    // GitHub names the app on every comment an app's installation made.
    const viaApp = comment.user === bot ? { performed_via_github_app: { id: appId } } : {};
    return { id: comment.id, body: comment.body, user: comment.user, ...viaApp };
  }

  const handle = (method: string, uri: string, rawBody: unknown): Answer => {
    const url = new URL(uri, "https://api.github.com");
    const path = decodeURIComponent(url.pathname);
    const request: FakeRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      body: typeof rawBody === "string" && rawBody !== "" ? JSON.parse(rawBody) : rawBody,
    };
    requests.push(request);
    const limit = rateLimits.find((f) => (f.fired ?? 0) < (f.times ?? 1) && f.when(request, github));
    if (limit) {
      limit.fired = (limit.fired ?? 0) + 1;
      return [
        limit.status,
        {
          message: limit.message,
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
        limit.headers,
      ];
    }
    const fault = faults.find((f) => !f.fired && f.when(request, github));
    if (fault) fault.fired = true;
    if (fault && !fault.lost) return [502, { message: "Server Error" }];
    for (const r of routes) {
      if (r.method !== method) continue;
      const match = r.pattern.exec(path);
      if (!match) continue;
      const answer = r.handle(match, request);
      return fault ? [502, { message: "Server Error" }] : answer;
    }
    throw new Error(`the fake GitHub has no route for ${method} ${path}`);
  };

  const knows = (method: string, uri: string): boolean => {
    const path = decodeURIComponent(new URL(uri, "https://api.github.com").pathname);
    return routes.some((r) => r.method === method && r.pattern.test(path));
  };

  const scope = githubApi().persist();
  for (const method of ["GET", "POST", "PATCH", "PUT"]) {
    scope
      .intercept((uri: string) => knows(method, uri), method)
      // Routes a scenario never reaches are fine for a fake; what it did reach is asserted on.
      .optionally()
      .reply(function reply(uri, body) {
        return handle(method, uri, body);
      });
  }

  const github = {
    commits,
    refs,
    pulls,
    comments,
    reactions,
    createdRefs,
    checkRuns,
    reviews,
    /**
     * A person reviews the run's pull request (the only one, unless `pull` says) at `commit`.
     * Only what the list of reviews shows: deliver the webhook too when the app should hear of it.
     */
    addReview(review: {
      login: string;
      type?: "User" | "Bot";
      state: FakeReview["state"];
      commit: string;
      pull?: number;
    }): FakeReview {
      const pull = review.pull ?? pulls[0]?.number;
      if (pull === undefined) throw new Error("no pull request to review");
      const added: FakeReview = {
        id: nextReviewId++,
        pull,
        user: { login: review.login, type: review.type ?? "User" },
        state: review.state,
        commit_id: review.commit,
      };
      reviews.push(added);
      return added;
    },
    /**
     * A check run of the repository's CI (GitHub Actions unless `appId` says otherwise), as a
     * workflow would report it on `sha`. Change its fields later to play the run progressing.
     */
    addCiRun(run: {
      sha: string;
      name: string;
      status?: FakeCheckRun["status"];
      conclusion?: string;
      title?: string;
      appId?: number;
    }): FakeCheckRun {
      const added: FakeCheckRun = {
        id: nextCheckRunId++,
        name: run.name,
        head_sha: run.sha,
        status: run.status ?? (run.conclusion === undefined ? "in_progress" : "completed"),
        conclusion: run.conclusion ?? null,
        output: run.title === undefined ? null : { title: run.title, summary: "" },
        app_id: run.appId ?? ACTIONS_APP_ID,
        details_url: null,
        external_id: null,
      };
      checkRuns.push(added);
      return added;
    },
    merges,
    /** Refuse every merge with `message` (405), or accept merges again with undefined. */
    refuseMerges(message: string | undefined): void {
      mergeRefusal = message;
    },
    /** While on, every check-run write answers 502 and changes nothing. */
    failCheckWrites(on: boolean): void {
      refuseCheckWrites = on;
    },
    /** Commits on `branch` made after it left the default branch, oldest first. */
    branchCommits,
    /** A person closes pull request `number` (what GitHub does before it sends pull_request.closed). */
    closePull(number: number): void {
      const pull = pulls.find((p) => p.number === number);
      if (pull === undefined) throw new Error(`no pull request #${number}`);
      pull.state = "closed";
    },
    requests,
    /** Answers the requests `when` picks with a rate limit (once, or `times` times) instead. */
    rateLimit(fault: Omit<RateLimitFault, "fired">): RateLimitFault {
      const added: RateLimitFault = { ...fault };
      rateLimits.push(added);
      return added;
    },
    /** Breaks one request (the first that `when` picks) with a 502. */
    failOnce(fault: Omit<Fault, "fired">): Fault {
      const added: Fault = { ...fault };
      faults.push(added);
      return added;
    },
  };
  return github;
}

function fieldsOf(selectionSet: SelectionSetNode | undefined): FieldNode[] {
  return (selectionSet?.selections ?? []).filter((s): s is FieldNode => s.kind === Kind.FIELD);
}

function argumentsOf(field: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    (field.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value, variables)]),
  );
}

/** GitHub's documented limits the fake enforces (issue 11, class 14). */
export const PULL_TITLE_MAX = 256;
/** Issue, pull request and comment bodies: "maximum is 65536 characters". */
export const BODY_MAX = 65_536;
/** A check run's output.summary and output.text: "Maximum length: 65535 characters". */
export const CHECK_OUTPUT_MAX = 65_535;

function tooLong(text: string, max: number): boolean {
  return [...text].length > max;
}

function outputTooLong(body: unknown): boolean {
  const output = (body as { output?: { summary?: string; text?: string; title?: string } }).output;
  return tooLong(output?.summary ?? "", CHECK_OUTPUT_MAX) || tooLong(output?.text ?? "", CHECK_OUTPUT_MAX);
}

function bodyTooLong(): Answer {
  return [422, { message: "Validation Failed", errors: [{ code: "custom", message: "body is too long" }] }];
}

/**
 * The issues of `owner/repo` that GitHub closes for these texts (commit messages, a PR body):
 * a closing keyword, then spaces or a colon (spaces optional), then `#N`, `owner/repo#N` or the issue's URL
 * (docs.github.com: "Linking a pull request to an issue using a keyword"). Case does not matter.
 */
export function closedBy(texts: string[], owner: string, repo: string): number[] {
  const keyword = "(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)";
  const repoPart = `${owner}/${repo}`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const ref = `(?:#(\\d+)|${repoPart}#(\\d+)|https?://github\\.com/${repoPart}/(?:issues|pull)/(\\d+))`;
  const pattern = new RegExp(`(?<![\\w])${keyword}(?::\\s*|\\s+)${ref}`, "gi");
  const closed = new Set<number>();
  for (const text of texts)
    for (const match of text.matchAll(pattern)) closed.add(Number(match[1] ?? match[2] ?? match[3]));
  return [...closed].sort((a, b) => a - b);
}

function notFound(): Answer {
  return [404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" }];
}

/** The SHA git gives a blob with this content. */
export function blobSha(content: string): string {
  const bytes = Buffer.from(content);
  return createHash("sha1")
    .update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]))
    .digest("hex");
}

function oidOf(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}
