import { z } from "zod";

/*
 * The webhook payload fields the handlers read, checked once where a delivery enters
 * (src/github/webhook-endpoint.ts), before Probot dispatches it. A signed payload that lacks one
 * used to reach a handler and fail there with `Cannot read properties of undefined (reading
 * 'owner')` and HTTP 500 (issue 11, class 6). Objects are loose: GitHub adds fields all the time,
 * and the handlers receive the payload as sent, not this schema's output.
 */

const count = z.number().int().nonnegative();
const name = z.string().min(1);

/** Who triggered the event: bots are told apart by `type` and by a `[bot]` login. */
const sender = z.looseObject({ login: name, type: z.string() });

/** The repository the event is in: owner and name address every request, the id tells forks apart. */
const repository = z.looseObject({
  id: count,
  name,
  owner: z.looseObject({ login: name }),
  /** Where the repository config and pipelines are read from. */
  default_branch: name,
});

/** The installation the event was sent to; handlers answer `no-installation` when it is absent. */
const installation = z.looseObject({ id: z.number().int().positive() }).optional();

/** The fields every handled event has. */
const envelope = { sender, repository, installation };

/** An issue, as a run's input (title, body, labels, author, link). */
const issue = z.looseObject({
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string().nullable().optional(),
  labels: z.array(z.looseObject({ name: z.string() })).optional(),
  user: z.looseObject({ login: z.string() }).nullable().optional(),
  html_url: z.string(),
  /** Present when the issue is a pull request (a comment on a pull request's conversation). */
  pull_request: z.looseObject({}).optional(),
});

/** A pull request: its head finds the run (branch) and tells a fork's from the repository's own. */
const pullRequest = z.looseObject({
  number: z.number().int().positive(),
  merged: z.boolean().nullable().optional(),
  head: z.looseObject({
    ref: name,
    /** Null when the fork the head came from was deleted. */
    repo: z.looseObject({ id: count }).nullable(),
  }),
});

const sha = z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character commit sha");

const review = z.looseObject({
  id: count,
  state: z.string(),
  commit_id: sha.nullable().optional(),
  user: sender.nullable().optional(),
});

/**
 * One schema per `event.action` the app registers a handler for (src/github/app.ts maps the
 * same keys to handlers, so a handler without a schema does not compile).
 */
export const PAYLOAD_SCHEMAS = {
  "issues.labeled": z.looseObject({
    ...envelope,
    issue,
    /** The label just added: it picks the pipeline. */
    label: z.looseObject({ name: z.string() }).optional(),
  }),
  "issues.closed": z.looseObject({ ...envelope, issue }),
  "issue_comment.created": z.looseObject({
    ...envelope,
    issue,
    comment: z.looseObject({ id: count, body: z.string().nullable().optional() }),
  }),
  "pull_request.closed": z.looseObject({ ...envelope, pull_request: pullRequest }),
  "pull_request.synchronize": z.looseObject({
    ...envelope,
    pull_request: pullRequest,
    before: sha,
    after: sha,
  }),
  "pull_request_review.submitted": z.looseObject({ ...envelope, pull_request: pullRequest, review }),
  "pull_request_review.dismissed": z.looseObject({ ...envelope, pull_request: pullRequest, review }),
  "check_suite.completed": z.looseObject({
    ...envelope,
    check_suite: z.looseObject({
      id: count,
      /** Null on a fork's pull request: no branch of this repository. */
      head_branch: z.string().nullable(),
      head_sha: sha,
      app: z.looseObject({ id: count, slug: z.string().optional() }).nullable().optional(),
    }),
  }),
} satisfies Record<string, z.ZodType>;

/** An `event.action` the app handles. */
export type HandledEvent = keyof typeof PAYLOAD_SCHEMAS;

/** What a delivery of a given event is to the app. */
export type PayloadCheck =
  | { kind: "handled"; key: HandledEvent }
  /** An event or action the app has no handler for (`issues.opened`, `installation`, `ping`). */
  | { kind: "ignored" }
  | { kind: "invalid"; key: HandledEvent; problems: string[] };

/**
 * Checks a verified, parsed payload of event `name` against the schema of what the app does with
 * it. The problems name fields by their path in the payload, never echo its values (a 400's body
 * says what is wrong without repeating what was sent).
 */
export function checkPayload(name: string, payload: Record<string, unknown>): PayloadCheck {
  const action = typeof payload.action === "string" ? payload.action : undefined;
  const key = action === undefined ? name : `${name}.${action}`;
  // Object.hasOwn, not `in`: a key such as `constructor` must not find Object's prototype.
  if (!Object.hasOwn(PAYLOAD_SCHEMAS, key)) return { kind: "ignored" };
  const handled = key as HandledEvent;
  const result = PAYLOAD_SCHEMAS[handled].safeParse(payload);
  if (result.success) return { kind: "handled", key: handled };
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join(".") || "(payload)"}: ${issue.message}`);
  return { kind: "invalid", key: handled, problems };
}
