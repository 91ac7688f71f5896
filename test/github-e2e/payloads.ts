import { createRequire } from "node:module";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import { INSTALLATION_ID, OWNER, REPO } from "../github-app/harness.js";
import { type FakeGitHub, type FakeGitHubOptions, fakeGitHub } from "./fake-github.js";

/** The branch a run for issue #1 of the examples ("Spelling error in the README file") works on. */
export const BRANCH = "atomic-scrum/1-spelling-error-in-the-readme-file";

/** The files of the repository a coding run fixes: the README's spelling error, and some code. */
export const CODING_FILES: Readonly<Record<string, string>> = {
  "README.md": "# Hello-World\n\nHello, wrold.\n",
  "src/index.ts": "export const hello = 1;\n",
};

/** The files of the repository a content run edits. */
export const CONTENT_FILES: Readonly<Record<string, string>> = {
  "README.md": "# Hello-World\n\nHello, world. A small project that says hello.\n",
  "CHANGELOG.md": "# Changelog\n\n## 1.0.0\n\n- First release.\n",
};

const examples = createRequire(import.meta.url)(
  "@octokit/webhooks-examples/api.github.com/index.json",
) as WebhookDefinition[];

export type Payload = Record<string, Record<string, unknown>>;

/**
 * The real `event.action` example from @octokit/webhooks-examples, delivered to the app's
 * installation; a pull request in it has its head moved to the run's branch.
 */
export function example(event: string, action: string): Payload {
  const found = examples
    .find((d) => d.name === event)
    ?.examples.find((e) => "action" in e && e.action === action);
  if (!found) throw new Error(`no ${event}.${action} example in @octokit/webhooks-examples`);
  const payload = structuredClone(found) as unknown as Payload;
  const head = payload.pull_request?.head as { ref: string } | undefined;
  if (head) head.ref = BRANCH;
  payload.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
  return payload;
}

/** The `issue_comment.created` example, with a body and comment id; `pull` puts it on that pull request. */
export function commentPayload(body: string, id: number, pull?: number): Record<string, unknown> {
  const payload = example("issue_comment", "created");
  payload.comment = { ...payload.comment, body, id };
  if (pull !== undefined) {
    const url = `https://api.github.com/repos/${OWNER}/${REPO}/pulls/${pull}`;
    payload.issue = {
      ...payload.issue,
      number: pull,
      pull_request: { url, html_url: url, diff_url: url, patch_url: url },
    };
  }
  return payload;
}

/**
 * The real `pull_request_review.submitted` example on the run's branch: by default Codertocat
 * approves the example's own commit; `change` sets the reviewer, the state, the commit and the id.
 */
export function reviewPayload(
  change: { login?: string; type?: "User" | "Bot"; state?: string; commit?: string; id?: number } = {},
): Payload {
  const payload = example("pull_request_review", "submitted");
  const login = change.login ?? "Codertocat";
  const type = change.type ?? "User";
  const user = { ...(payload.review?.user as object), login, type };
  payload.review = {
    ...payload.review,
    ...(change.id === undefined ? {} : { id: change.id }),
    state: change.state ?? "approved",
    ...(change.commit === undefined ? {} : { commit_id: change.commit }),
    user,
  };
  payload.sender = { ...payload.sender, login, type };
  return payload;
}

/**
 * The fake GitHub of the examples' repository (Codertocat/Hello-World, default branch `master`,
 * the app installed). Files default to CODING_FILES and roles to Codertocat as a writer; `roles`
 * is kept as given, so a test can change a role later through the same object.
 */
export function exampleGitHub(
  options: Partial<Pick<FakeGitHubOptions, "files" | "roles">> &
    Pick<FakeGitHubOptions, "config" | "appId"> = {},
): FakeGitHub {
  const { files = CODING_FILES, roles = { Codertocat: "write" }, config, appId } = options;
  return fakeGitHub({
    owner: OWNER,
    repo: REPO,
    installationId: INSTALLATION_ID,
    defaultBranch: "master",
    files: { ...files },
    roles,
    ...(config === undefined ? {} : { config }),
    ...(appId === undefined ? {} : { appId }),
  });
}
