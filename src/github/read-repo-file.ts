import { isNotFound, type Octokit } from "./octokit.js";

export interface RepoFile {
  text: string;
  /** The blob SHA: changes exactly when the content does. */
  sha: string;
}

/**
 * Reads a text file from the repository's default branch (or `ref`) through the contents API.
 * A missing file is `undefined`, not an error. We read the raw text ourselves rather than through
 * `context.config`, because problems must point at lines of the file as written.
 */
export async function readRepoFile(
  octokit: Pick<Octokit, "request">,
  input: { owner: string; repo: string; path: string; ref?: string },
): Promise<RepoFile | undefined> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/contents/{path}", input);
    if (Array.isArray(data) || data.type !== "file" || !("content" in data)) {
      throw new Error(`${input.path} in ${input.owner}/${input.repo} is not a file`);
    }
    return { text: Buffer.from(data.content, "base64").toString("utf8"), sha: data.sha };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
