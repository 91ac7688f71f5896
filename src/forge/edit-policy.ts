import { z } from "zod";
import { SENSITIVE_AREAS, type SensitiveArea } from "./sensitive-paths.js";

/**
 * Caps on one edit (one commit), so a model answer or a runaway agent cannot commit a 30 MB file
 * or 3,000 files at once (issue 11, class 8). A reviewer cannot read either, and both are slow or
 * refused further down: GitHub refuses files over 100 MiB and warns over 50 MiB, and the GitHub
 * forge sends the whole commit, base64-encoded, in one GraphQL request.
 */
export interface EditLimits {
  /** Most UTF-8 bytes one written file may hold. */
  maxFileBytes: number;
  /** Most files one edit may write or delete. */
  maxFiles: number;
  /** Most UTF-8 bytes all written files of one edit may hold together. */
  maxTotalBytes: number;
}

/**
 * 1 MiB is over ten times the largest hand-written source file in most repositories and well under
 * GitHub's limits; 100 files is a large refactor; 5 MiB leaves room for a few generated files.
 */
export const DEFAULT_EDIT_LIMITS: Readonly<EditLimits> = {
  maxFileBytes: 1024 * 1024,
  maxFiles: 100,
  maxTotalBytes: 5 * 1024 * 1024,
};

/** What a run may write: the sensitive areas it may enter and its caps. Pinned with the run. */
export interface EditPolicy extends EditLimits {
  allow: SensitiveArea[];
}

/** GitHub refuses a file over 100 MiB, so a higher cap would only move the failure. */
const GITHUB_MAX_FILE_BYTES = 100 * 1024 * 1024;

const bytes = z.number().int("must be a whole number of bytes").positive("must be more than 0");

/** `edits:` in `.github/atomic-scrum.yml` (and in the settings file, for local runs). */
export const EditsSchema = z
  .strictObject({
    allow: z
      .array(z.enum(SENSITIVE_AREAS))
      .default([])
      .describe(
        "Sensitive areas runs may write: workflows (.github/workflows/), submodules (.gitmodules), attributes (.gitattributes, .lfsconfig), hooks (husky, lefthook, pre-commit and other git hook managers' files). Empty: all refused.",
      ),
    max_file_bytes: bytes
      .max(GITHUB_MAX_FILE_BYTES, "GitHub refuses files over 100 MiB (104857600 bytes)")
      .default(DEFAULT_EDIT_LIMITS.maxFileBytes)
      .describe("Most bytes (UTF-8) one file a run writes may hold."),
    max_files: z
      .number()
      .int("must be a whole number")
      .positive("must be more than 0")
      .default(DEFAULT_EDIT_LIMITS.maxFiles)
      .describe("Most files one commit of a run may write or delete."),
    max_total_bytes: bytes
      .default(DEFAULT_EDIT_LIMITS.maxTotalBytes)
      .describe("Most bytes (UTF-8) all files one commit of a run writes may hold together."),
  })
  .describe("What runs may write: sensitive areas allowed, and size and count caps per commit.");

export type EditsConfig = z.infer<typeof EditsSchema>;

/** The policy of a run with no `edits:` configured. */
export function defaultEditPolicy(): EditPolicy {
  return { allow: [], ...DEFAULT_EDIT_LIMITS };
}

/** The configured `edits:` as the policy a run pins. */
export function editPolicyFrom(config: EditsConfig): EditPolicy {
  return {
    allow: [...config.allow],
    maxFileBytes: config.max_file_bytes,
    maxFiles: config.max_files,
    maxTotalBytes: config.max_total_bytes,
  };
}

/**
 * The pipeline a run pins, with the configured `edits:` when they differ from the defaults
 * (absent means the defaults, so runs that configure nothing store nothing new).
 */
export function withEditPolicy<P extends { edits?: EditPolicy }>(pipeline: P, config: EditsConfig): P {
  const policy = editPolicyFrom(config);
  const defaults = defaultEditPolicy();
  const same =
    policy.allow.length === 0 &&
    policy.maxFileBytes === defaults.maxFileBytes &&
    policy.maxFiles === defaults.maxFiles &&
    policy.maxTotalBytes === defaults.maxTotalBytes;
  return same ? pipeline : { ...pipeline, edits: policy };
}
