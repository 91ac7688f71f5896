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
}

/**
 * Marks text from outside (issue, files, model output) as data. The closing tag is neutralised
 * inside the text so it cannot end the block early and smuggle instructions out of it.
 */
export function untrusted(source: string, text: string): string {
  const safe = text.replace(/<\/untrusted/gi, "<\\/untrusted");
  return `<untrusted source="${source}">\n${safe}\n</untrusted>`;
}

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
