import { createHmac, randomBytes } from "node:crypto";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { renderTemplate, TemplateError } from "../pipeline/templates.js";

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
 * Marks text from outside (issue, files, model output) as data. The block's tag is 64 bits of an
 * HMAC under TAG_KEY, so the text cannot close its block early: it would have to contain a tag it
 * cannot compute. `source` is reduced to safe characters, as paths come from outside.
 */
export function untrusted(source: string, text: string): string {
  const safeSource = source.replace(/[^\w.:/@ -]/g, "_");
  let tag: string;
  let draw = 0;
  // A text containing its own tag (odds 2^-64) gets the next one.
  do
    tag = `untrusted-${createHmac("sha256", TAG_KEY).update(`${draw++}\0${safeSource}\0${text}`).digest("hex").slice(0, 16)}`;
  while (text.includes(tag));
  return `<${tag} source="${safeSource}">\n${text}\n</${tag}>`;
}

// Issue 11: a tag that was the text's own SHA-256 could be searched for offline, until a text
// contained the closer of its own block. A key drawn when the process starts, never stored or
// shown, makes the tag unknowable to whoever writes the text; and within a process the same text
// gets the same tag, so a retry's prompt and its cached repository files stay byte-identical.
const TAG_KEY = randomBytes(32);

/** Matches one untrusted block: group 1 is the tag, group 2 the source, group 3 the text. */
export const UNTRUSTED_BLOCK = /<(untrusted-[0-9a-f]{16}) source="([^"]*)">\n([\s\S]*?)\n<\/\1>/g;

/** The untrusted blocks of a prompt, in order. */
export function untrustedBlocks(prompt: string): { source: string; text: string }[] {
  return [...prompt.matchAll(UNTRUSTED_BLOCK)].map((m) => ({ source: m[2] ?? "", text: m[3] ?? "" }));
}

export interface ContextInput {
  issue: IssueInput;
  repo: RepoInput;
  pipeline: Pick<ResolvedPipeline, "name" | "description" | "voiceStyle">;
  outputs: Record<string, string>;
  phase: { id: string; name: string };
}

// Untrusted values reach a template as sealed placeholders, never as text (issue 11, class 2): a
// filter or tag cannot strip, cut or rewrap what it never sees, so every untrusted byte of a
// rendered prompt lies inside a block by construction. Private-use characters and a nonce drawn
// per render make a placeholder that no template or trusted value contains by accident.
const OPEN = "\uE000";
const CLOSE = "\uE001";

/**
 * Renders a prompt or rubric. Untrusted values (the issue's title, body, author, labels and url,
 * and earlier phases' outputs) are output only as they are, each in its own untrusted block; a
 * template that changes one (a filter, a slice of a capture) fails with a TemplateError.
 */
export function renderPrompt(template: string, input: ContextInput): string {
  if (template.includes(OPEN) || template.includes(CLOSE)) {
    throw new TemplateError(
      "the template contains a reserved character (U+E000 or U+E001): remove it",
      "sealed",
    );
  }
  const sealed: Sealed[] = [];
  const seal = (source: string, text: string): string => {
    // A nonce per value, not per render: a filter that rewrites one placeholder's index into
    // another's (`replace: "0:", "1:"`) then breaks it instead of moving a text into another block.
    const nonce = randomBytes(8).toString("hex");
    sealed.push({ source, text, nonce });
    // The index first, so a value cut short (slice, truncate) can still be named in the error.
    return `${OPEN}${sealed.length - 1}:${nonce}${CLOSE}`;
  };
  const phases: Record<string, { output: string }> = {};
  for (const [id, output] of Object.entries(input.outputs))
    phases[id] = { output: seal(`phases.${id}.output`, output) };
  const { issue } = input;
  const context = {
    ...trustedContext(input),
    issue: {
      number: issue.number,
      title: seal("issue.title", issue.title),
      body: seal("issue.body", issue.body),
      author: seal("issue.author", issue.author),
      labels: seal("issue.labels", issue.labels.join(", ")),
      url: seal("issue.url", issue.url),
    },
    phases,
  };
  return unseal(renderTemplate(template, context), sealed);
}

interface Sealed {
  source: string;
  text: string;
  nonce: string;
}

const PLACEHOLDER = new RegExp(`${OPEN}(\\d+):([0-9a-f]{16})${CLOSE}`, "g");

/** Replaces each intact placeholder with its block; anything left of one means a template changed it. */
function unseal(rendered: string, sealed: Sealed[]): string {
  const intact = (index: string, nonce: string) => sealed[Number(index)]?.nonce === nonce;
  const rest = rendered.replace(PLACEHOLDER, (match, index: string, nonce: string) =>
    intact(index, nonce) ? "" : match,
  );
  const cut = sealed.findIndex((value) => rest.includes(value.nonce));
  if (rest.includes(OPEN) || rest.includes(CLOSE) || cut >= 0) {
    const index = cut >= 0 ? String(cut) : new RegExp(`${OPEN}(\\d+)`).exec(rest)?.[1];
    const source = index === undefined ? undefined : sealed[Number(index)]?.source;
    const what = source ? `"${source}"` : "an untrusted value";
    throw new TemplateError(
      `${what} was cut or changed by a filter or tag: untrusted text is sealed from templates and can only be output as it is, e.g. {{ ${source ?? "issue.body"} }}`,
      "sealed",
    );
  }
  return rendered.replace(PLACEHOLDER, (_match, index: string) => {
    const value = sealed[Number(index)] as Sealed;
    return untrusted(value.source, value.text);
  });
}

/**
 * Renders an artifact path. Only values nobody outside the repository wrote exist here (the
 * validator's PATH_SAFE list): a path template reading issue text or model output fails as an
 * undefined variable, whatever the validator was shown.
 */
export function renderPath(template: string, input: ContextInput): string {
  return renderTemplate(template, {
    issue: { number: input.issue.number },
    repo: trustedContext(input).repo,
    pipeline: { name: input.pipeline.name },
    phase: input.phase,
    phases: {},
  });
}

function trustedContext(input: ContextInput): Record<string, unknown> {
  const { repo, pipeline } = input;
  return {
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
    phases: {},
  };
}
