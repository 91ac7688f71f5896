import type { Octokit as CoreOctokit } from "@octokit/core";
import { ProbotOctokit } from "probot";
import { ForgeRateLimited } from "../forge/forge.js";

/** The installation-authenticated client Probot hands a webhook handler. */
export type Octokit = InstanceType<typeof ProbotOctokit>;

/** True for GitHub's "not found" answer, which is also what a private, inaccessible thing gives. */
export function isNotFound(error: unknown): boolean {
  return (error as { status?: number } | null)?.status === 404;
}

/**
 * When GitHub said it may be asked again, if `error` is a rate limit; undefined for anything else.
 * GitHub's rules (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
 * "Exceeding the rate limit"): a 403 or 429 with `retry-after` waits that many seconds; with
 * `x-ratelimit-remaining: 0` it waits until `x-ratelimit-reset` (epoch seconds); any other
 * secondary limit waits at least one minute. GraphQL says so with an error of type RATE_LIMITED.
 */
export function rateLimitedUntil(error: unknown, now: number): number | undefined {
  const e = error as {
    status?: number;
    message?: string;
    response?: { headers?: Record<string, unknown>; data?: { errors?: { type?: string }[] } };
    errors?: { type?: string }[];
  } | null;
  if (e === null || typeof e !== "object") return undefined;
  const headers = e.response?.headers ?? {};
  const graphqlErrors = [...(e.errors ?? []), ...(e.response?.data?.errors ?? [])];
  const graphqlLimited = graphqlErrors.some((g) => g.type === "RATE_LIMITED");
  const status = e.status;
  const limitedStatus = status === 403 || status === 429;
  const retryAfter = Number(headers["retry-after"]);
  const remaining = String(headers["x-ratelimit-remaining"] ?? "");
  const reset = Number(headers["x-ratelimit-reset"]);
  const says = /rate limit/i.test(e.message ?? "");
  if (
    !(
      graphqlLimited ||
      status === 429 ||
      (limitedStatus && (says || remaining === "0" || headers["retry-after"] !== undefined))
    )
  )
    return undefined;
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return now + retryAfter * 1000;
  if (remaining === "0" && Number.isFinite(reset) && reset > 0) return Math.max(now, reset * 1000) + 1000;
  return now + 60_000;
}

/**
 * A request whose answer may be lost after GitHub carried it out, and which a blind re-send would
 * carry out twice (a second check run, comment or pull request; a merge re-sent after it landed
 * is refused, which reads as a refusal). Issue 11, class 13: these are never re-sent by the retry
 * plugin; the job's next attempt finds what landed first (find, then create).
 */
function isNotIdempotent(options: { method?: string; url?: string; query?: unknown }): boolean {
  const method = (options.method ?? "GET").toUpperCase();
  const url = options.url ?? "";
  if (url === "/graphql" || url.endsWith("/graphql"))
    return /^\s*mutation\b/.test(String(options.query ?? ""));
  if (method === "POST") return true;
  return method === "PUT" && /\/merge$/.test(url);
}

/** Sets `retries: 0` on every request {@link isNotIdempotent} picks, for plugin-retry to honour. */
export function noBlindRetry(octokit: CoreOctokit): void {
  octokit.hook.before("request", (options) => {
    const graphql = options.url === "/graphql" ? (options as { query?: unknown }) : {};
    if (isNotIdempotent({ method: options.method, url: options.url, query: graphql.query }))
      options.request = { ...options.request, retries: 0 };
  });
}

/**
 * The Octokit the app gives Probot (webhook handlers and the worker's forges use it). Changed
 * from Probot's defaults (node_modules/probot/lib/octokit/probot-octokit.js), issue 11 class 12:
 * Probot answers `true` to every rate limit, so the throttling plugin waits in-process (holding a
 * webhook past GitHub's 10 s, or a job's lease) and, for a 429 it does not recognise, plugin-retry
 * re-sends after 1, 4 and 9 s, before `retry-after` ran out. Here neither retries a rate limit:
 * the error reaches the worker, which puts the job off until GitHub allows it (durably, in SQLite).
 * A function, not an object: Probot lays its own throttle options (id, Redis) over object defaults.
 */
export const AtomicScrumOctokit = ProbotOctokit.plugin(noBlindRetry).defaults(
  (instance: Record<string, unknown>) => ({
    ...instance,
    retry: {
      ...(instance.retry as object),
      // plugin-retry's own list plus 429: a rate limit is waited out by the worker, never re-sent.
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
    throttle: {
      ...(instance.throttle as object),
      onRateLimit: () => false,
      onSecondaryRateLimit: () => false,
    },
  }),
);

/**
 * Per installation: when GitHub lets the app write again after a rate limit. Every forge of the
 * installation refuses to send before then (GitHub: "continuing to make requests while you are
 * rate limited may result in the banning of your integration"), throwing {@link ForgeRateLimited}.
 */
export class RateLimitGate {
  readonly #until = new Map<number, number>();
  constructor(private readonly now: () => number) {}

  /** The time requests of `installation` may be sent again, if it is in the future. */
  pausedUntil(installation: number): number | undefined {
    const until = this.#until.get(installation);
    return until !== undefined && until > this.now() ? until : undefined;
  }

  /**
   * Wraps every request of `octokit`: refused without sending while the installation is paused;
   * a rate-limit answer pauses it and becomes a {@link ForgeRateLimited}.
   */
  guard<T extends CoreOctokit>(octokit: T, installation: number): T {
    octokit.hook.wrap("request", async (request, options) => {
      const paused = this.pausedUntil(installation);
      if (paused !== undefined) throw limited(paused, `${options.method} ${options.url} not sent`);
      try {
        return await request(options);
      } catch (error) {
        const until = rateLimitedUntil(error, this.now());
        if (until === undefined) throw error;
        this.#until.set(installation, Math.max(until, this.#until.get(installation) ?? 0));
        throw limited(until, `${options.method} ${options.url}: ${(error as Error).message}`, error);
      }
    });
    return octokit;
  }
}

function limited(until: number, what: string, cause?: unknown): ForgeRateLimited {
  return new ForgeRateLimited(
    `GitHub's rate limit: ${what}; the job waits until ${new Date(until).toISOString()}`,
    until,
    cause === undefined ? undefined : { cause },
  );
}
