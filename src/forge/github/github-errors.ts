import { ForgeUnreachable } from "../forge.js";

/** GitHub no longer lets the app at the repository: the run should end, not retry. */
export class GitHubAccessLost extends ForgeUnreachable {
  override name = "GitHubAccessLost";
}

interface HttpError {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

/** The HTTP status of an Octokit RequestError, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as Partial<HttpError> | null)?.status;
  return typeof status === "number" ? status : undefined;
}

/**
 * Runs one GitHub call named `what`. A 401, 404, 410 or a 403 that is not a rate limit means the
 * installation was removed or the repository is gone or hidden from the app: that becomes a
 * {@link GitHubAccessLost} saying so. Every other error is rethrown as it is.
 */
export async function callGitHub<T>(what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw explainAccessLost(error, what) ?? error;
  }
}

export function explainAccessLost(error: unknown, what: string): GitHubAccessLost | undefined {
  const status = statusOf(error) ?? graphqlRepositoryStatus(error);
  const lost = status === 401 || status === 404 || status === 410 || (status === 403 && !isRateLimit(error));
  if (!lost) return undefined;
  return new GitHubAccessLost(
    `${what}: GitHub answered ${status} (${(error as Error).message}). The app's installation was removed, ` +
      "or the repository was deleted, renamed or made inaccessible to it; the run cannot go on.",
    { cause: error },
  );
}

function isRateLimit(error: unknown): boolean {
  const headers = (error as HttpError).response?.headers ?? {};
  return (
    String(headers["x-ratelimit-remaining"]) === "0" ||
    headers["retry-after"] !== undefined ||
    /rate limit/i.test((error as Error).message)
  );
}

/** GraphQL answers 200 with `errors`; a NOT_FOUND or FORBIDDEN on `repository` is the same loss. */
function graphqlRepositoryStatus(error: unknown): number | undefined {
  const errors = (error as { errors?: { type?: string; path?: unknown[] }[] } | null)?.errors ?? [];
  const onRepository = errors.filter((e) => e.path?.[0] === "repository");
  if (onRepository.some((e) => e.type === "NOT_FOUND")) return 404;
  if (onRepository.some((e) => e.type === "FORBIDDEN")) return 403;
  return undefined;
}
