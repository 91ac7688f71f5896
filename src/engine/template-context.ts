import { createHash } from "node:crypto";
import type { ResolvedPipeline } from "../pipeline/resolved.js";

export interface IssueInput {
  number: number;
  title: string;
  body: string;
  labels: string[];
  author: string;
  url: string;
}

export interface RepoInput {
  owner: string;
  name: string;
  defaultBranch: string;
  /** The GitHub App installation a GitHub run acts through; absent for local runs. */
  installationId?: number;
}

/**
 * Marks text from outside (issue, files, model output) as data. The block's tag carries a tag id
 * derived from the text itself, so the text cannot close its block early: it would have to
 * contain the hash of itself. `source` is reduced to safe characters, as paths come from outside.
 */
export function untrusted(source: string, text: string): string {
  const tag = `untrusted-${createHash("sha256").update(text).digest("hex").slice(0, 10)}`;
  const safeSource = source.replace(/[^\w.:/@ -]/g, "_");
  return `<${tag} source="${safeSource}">\n${text}\n</${tag}>`;
}

/** Matches one untrusted block: group 1 is the source, group 2 the text. */
export const UNTRUSTED_BLOCK = /<(untrusted-[0-9a-f]{10}) source="([^"]*)">\n([\s\S]*?)\n<\/\1>/g;

export interface ContextInput {
  issue: IssueInput;
  repo: RepoInput;
  pipeline: ResolvedPipeline;
  outputs: Record<string, string>;
  phase: { id: string; name: string };
}

/** Variables for a prompt: untrusted values arrive wrapped, so a prompt cannot forget to. */
export function promptContext(input: ContextInput): Record<string, unknown> {
  const base = plainContext(input);
  const phases: Record<string, { output: string }> = {};
  for (const [id, output] of Object.entries(input.outputs))
    phases[id] = { output: untrusted(`phases.${id}.output`, output) };
  return {
    ...base,
    issue: {
      ...(base.issue as object),
      title: untrusted("issue.title", input.issue.title),
      body: untrusted("issue.body", input.issue.body),
      author: untrusted("issue.author", input.issue.author),
      labels: untrusted("issue.labels", input.issue.labels.join(", ")),
    },
    phases,
  };
}

/** Variables for paths and rubrics: raw values (paths are checked again before any write). */
export function plainContext(input: ContextInput): Record<string, unknown> {
  const { issue, repo, pipeline } = input;
  const phases: Record<string, { output: string }> = {};
  for (const [id, output] of Object.entries(input.outputs)) phases[id] = { output };
  return {
    issue: { ...issue },
    repo: {
      name: repo.name,
      owner: repo.owner,
      full_name: `${repo.owner}/${repo.name}`,
      default_branch: repo.defaultBranch,
    },
    pipeline: {
      name: pipeline.name,
      description: pipeline.description ?? "",
      voice_style: pipeline.voiceStyle ?? "",
    },
    phase: input.phase,
    phases,
  };
}
