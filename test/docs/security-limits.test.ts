import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_EDIT_LIMITS } from "../../src/forge/edit-policy.js";
import { PULL_TITLE_MAX } from "../../src/forge/github/pull-request.js";
import { REQUEST_TIMEOUT_MS } from "../../src/github/app-server.js";
import { ANSWER_WITHIN_MS, MAX_BODY_BYTES, MAX_INFLIGHT_BYTES } from "../../src/github/webhook-endpoint.js";
import { MAX_CONFIG_BYTES, MAX_RECORDED_BYTES } from "../../src/pipeline/read-input.js";
import {
  MAX_LABEL_LENGTH,
  MAX_PHASE_ID_LENGTH,
  MAX_PHASE_NAME_LENGTH,
  MAX_PIPELINE_NAME_LENGTH,
} from "../../src/pipeline/schema.js";
import { TEMPLATE_LIMITS } from "../../src/pipeline/templates.js";
import { MAX_ALIAS_EXPANSION, MAX_YAML_DEPTH } from "../../src/pipeline/yaml-input.js";

// docs/security.md promises every limit with its default: each row must name the value the code
// holds, so changing a constant without the page (or the page without the constant) fails here.
const doc = readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");

const MiB = 1024 * 1024;
const mib = (bytes: number): string => {
  expect(bytes % MiB, `${bytes} is a whole number of MiB`).toBe(0);
  return `${bytes / MiB} MiB`;
};
const count = (n: number): string => n.toLocaleString("en-US");

describe("docs/security.md limits", () => {
  it.each([
    ["template size", `| Template size | ${count(TEMPLATE_LIMITS.maxChars)} characters |`],
    ["render time", `| Render time | ${TEMPLATE_LIMITS.renderMs} ms per render |`],
    ["render memory", `| Render memory | ${count(TEMPLATE_LIMITS.memory)} characters or items`],
    ["file bytes", `| Bytes in one file | ${mib(DEFAULT_EDIT_LIMITS.maxFileBytes)} |`],
    ["files per commit", `| Files in one commit (deletions count) | ${DEFAULT_EDIT_LIMITS.maxFiles} |`],
    ["commit bytes", `| Bytes in one commit | ${mib(DEFAULT_EDIT_LIMITS.maxTotalBytes)} |`],
    ["config files", `a local issue file | ${mib(MAX_CONFIG_BYTES)} |`],
    ["fixtures", `| A fixtures file, a scenario file | ${mib(MAX_RECORDED_BYTES)} |`],
    ["yaml depth", `| YAML nesting | ${MAX_YAML_DEPTH} levels |`],
    ["yaml aliases", `| YAML aliases | at most ${count(MAX_ALIAS_EXPANSION)} values`],
    ["phase id", `| Phase id | ${MAX_PHASE_ID_LENGTH} characters`],
    ["pipeline name", `| Pipeline name | ${MAX_PIPELINE_NAME_LENGTH} characters`],
    ["label", `| Label | ${MAX_LABEL_LENGTH} characters`],
    ["phase name", `| Phase name | ${MAX_PHASE_NAME_LENGTH} characters`],
    ["webhook body", `| ${mib(MAX_BODY_BYTES)}, GitHub's own cap on a payload | \`413\``],
    ["bodies in flight", `| ${mib(MAX_INFLIGHT_BYTES)} | \`503\``],
    ["handler time", `| Handler time | ${ANSWER_WITHIN_MS / 1000} s`],
    ["request time", `| Whole request | ${REQUEST_TIMEOUT_MS / 1000} s |`],
    ["pull request title", `| Pull request title | ${PULL_TITLE_MAX} characters |`],
  ])("states the %s the code holds", (_name, row) => {
    expect(doc).toContain(row);
  });
});
