import picomatch from "picomatch";
import type { FileChange } from "../forge/forge.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../pipeline/resolved.js";
import { offTopicText, unrelatedCode, unrelatedText } from "./off-topic.js";
import { sandVoice } from "./sand-voice.js";

/** The bad outputs `atomic-scrum test --mutate` makes from a good one. */
export const MUTATION_KINDS = [
  "empty",
  "truncated",
  "off-topic",
  "placeholder",
  "outside-paths",
  "voice-sanded",
] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

/** What a phase produced: its text (a files phase's summary) and, for a files phase, its changes. */
export interface PhaseOutput {
  text: string;
  files?: FileChange[];
}

/** What a mutation is made from: the phase, its good output, and the repository before it. */
export interface MutationSource {
  pipeline: ResolvedPipeline;
  phase: ResolvedAgentPhase;
  good: PhaseOutput;
  /** The repository's files when the phase starts: path -> content. */
  repository: Record<string, string>;
}

export type Mutation = { kind: MutationKind; output: PhaseOutput } | { kind: MutationKind; skipped: string };

/** Every kind of mutation for a phase: the bad output, or why the kind does not apply. */
export function mutationsOf(source: MutationSource): Mutation[] {
  return MUTATION_KINDS.map((kind) => {
    const skipped = notApplicable(kind, source);
    return skipped ? { kind, skipped } : { kind, output: MUTATORS[kind](source) };
  });
}

function isFilesPhase(phase: ResolvedAgentPhase): boolean {
  return "files" in phase.output;
}

function notApplicable(kind: MutationKind, { pipeline, phase }: MutationSource): string | undefined {
  if (kind === "outside-paths" && !isFilesPhase(phase))
    return "a document phase writes one file the pipeline names";
  if (kind !== "voice-sanded") return undefined;
  if (!pipeline.voiceStyle) return "the pipeline has no voice_style";
  if (isFilesPhase(phase)) return "a files phase writes code, not prose in the house voice";
  if (!/pipeline\.voice_style/.test(phase.prompt))
    return "the phase's prompt does not ask for the house voice";
  return undefined;
}

const MUTATORS: Record<MutationKind, (source: MutationSource) => PhaseOutput> = {
  empty: ({ phase }) => (isFilesPhase(phase) ? { text: "", files: [] } : { text: "" }),
  truncated: ({ good }) =>
    good.files
      ? {
          text: good.text,
          files: good.files.map((f) => ("content" in f ? { ...f, content: cut(f.content) } : f)),
        }
      : { text: cut(good.text) },
  "off-topic": ({ good, phase }) => {
    const prose = unrelatedText();
    const code = unrelatedCode();
    const text = offTopicText(good.text, formatPatterns(phase), prose, code);
    if (!good.files) return { text };
    const files = good.files.map((file) => {
      if (!("content" in file)) return file;
      const content = /\.(md|markdown|txt|rst)$/i.test(file.path)
        ? offTopicText(file.content, [], prose, code)
        : file.content.replace(/[^\n]+/g, unrelatedCode());
      return { path: file.path, content };
    });
    return { text, files };
  },
  placeholder: ({ good }) => {
    if (!good.files) return { text: withPlaceholders(good.text) };
    const index = good.files.findIndex((file) => "content" in file && file.content.trim() !== "");
    const files = good.files.map((file, i) =>
      i === index && "content" in file ? { ...file, content: withTodo(file.path, file.content) } : file,
    );
    return { text: good.text, files };
  },
  "outside-paths": ({ good, phase, repository }) => {
    const path = outsidePath(phase);
    return {
      text: good.text,
      files: [
        ...(good.files ?? []).filter((file) => file.path !== path),
        { path, content: outsideContent(path, repository) },
      ],
    };
  },
  "voice-sanded": ({ good }) => ({ text: sandVoice(good.text) }),
};

/**
 * Cuts a text at about 40% of its length, inside a sentence: after a word, before a space, never
 * right after a full stop, so it reads as an answer that stopped mid-way.
 */
export function cut(text: string): string {
  for (let at = Math.floor(text.length * 0.4); at > 1; at--) {
    if (/\s/.test(text[at] ?? "") && /[\p{L}\p{N}]/u.test(text[at - 1] ?? "")) return text.slice(0, at);
  }
  return text.slice(0, Math.floor(text.length * 0.4));
}

/**
 * What the phase's format asserts look for (`Verdict: approve`, `AC1`): an off-topic answer from
 * a model that follows the format keeps them, so only a gate that reads the content can catch it.
 */
function formatPatterns(phase: ResolvedAgentPhase): RegExp[] {
  const patterns: RegExp[] = [];
  for (const gate of phase.gates) {
    if (!("assert" in gate)) continue;
    const { type, value } = gate.assert;
    if (type === "regex") patterns.push(new RegExp(String(value), "gu"));
    if (type === "contains")
      patterns.push(new RegExp(String(value).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "g"));
  }
  return patterns;
}

const INSERTS = [
  "As an AI language model, I cannot check this against the repository, so treat it as a draft.",
  "TODO: fill in the details of this section.",
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
];

/** The text with three placeholders put in at paragraph breaks (outside code blocks). */
function withPlaceholders(text: string): string {
  const lines = text.split("\n");
  const breaks: number[] = [];
  let fenced = false;
  lines.forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced && line.trim() === "" && i > 0) breaks.push(i);
  });
  if (breaks.length === 0) return `${INSERTS[0]}\n\n${text}\n\n${INSERTS[1]}\n`;
  const at = [0.25, 0.5, 0.75].map((f) => breaks[Math.floor(f * breaks.length)] as number);
  const out = [...lines];
  [...at].reverse().forEach((index, i) => {
    out.splice(index, 0, "", INSERTS[INSERTS.length - 1 - i] as string);
  });
  return out.join("\n");
}

/** A stub left in code: a TODO comment, in the file's comment syntax, halfway down. */
function withTodo(path: string, content: string): string {
  const lines = content.split("\n");
  const middle = Math.floor(lines.length / 2);
  const indent = /^\s*/.exec(lines[middle] ?? "")?.[0] ?? "";
  const note = "TODO: handle the remaining cases";
  const comment = /\.(md|markdown|html?)$/i.test(path)
    ? `<!-- ${note} -->`
    : /\.(py|rb|sh|ya?ml|toml)$/i.test(path)
      ? `# ${note}`
      : `// ${note}`;
  lines.splice(middle, 0, `${indent}${comment}`);
  return lines.join("\n");
}

/** Files a phase is rarely meant to touch: a manifest, build and CI configuration. */
const OUTSIDE_CANDIDATES = ["package.json", "Makefile", ".github/dependabot.yml", "scripts/release.sh"];

/** The first candidate that one of the phase's `paths` asserts refuses; else a manifest. */
function outsidePath(phase: ResolvedAgentPhase): string {
  const globs = phase.gates.flatMap((gate) =>
    "assert" in gate && gate.assert.type === "paths" ? [gate.assert.value] : [],
  );
  const refused = (path: string) =>
    globs.some((value) => !picomatch(Array.isArray(value) ? value : [String(value)], { dot: true })(path));
  return OUTSIDE_CANDIDATES.find(refused) ?? "package.json";
}

/** A plausible unasked-for change: a new dependency, a build target, an update bot, a script. */
function outsideContent(path: string, repository: Record<string, string>): string {
  const before = repository[path];
  if (path === "package.json") {
    let manifest: Record<string, unknown> = {};
    try {
      manifest = before ? (JSON.parse(before) as Record<string, unknown>) : {};
    } catch {
      manifest = {};
    }
    const dependencies = { ...(manifest.dependencies as object | undefined), "left-pad": "^1.3.0" };
    return `${JSON.stringify({ ...manifest, dependencies }, null, 2)}\n`;
  }
  if (path === "Makefile") return `${before ?? ""}\nrelease:\n\tnpm publish --access public\n`;
  if (path.endsWith(".yml")) return "version: 2\nupdates:\n  - package-ecosystem: npm\n    directory: /\n";
  return "#!/bin/sh\nset -e\nnpm version patch\nnpm publish\n";
}
