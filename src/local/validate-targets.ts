import { type Dirent, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { describeReadError, readInputFile } from "../pipeline/read-input.js";

/** A file `validate` checks, and as what. */
export interface Target {
  file: string;
  kind: "pipeline" | "config";
}

/** What the paths given to `validate` stand for. */
export interface Targets {
  targets: Target[];
  /** Files and folders looked at and left out, each with the reason, printed so nothing is silent. */
  skipped: { path: string; why: string }[];
  /** One line each: a folder that cannot be read or holds no pipeline. */
  errors: string[];
}

const YAML_FILE = /\.ya?ml$/i;

/** `.github/atomic-scrum.yml` (or `.yaml`): the repository config, wherever the repository is. */
export function isRepoConfigPath(file: string): boolean {
  return /^atomic-scrum\.ya?ml$/i.test(basename(file)) && basename(dirname(resolve(file))) === ".github";
}

/**
 * Turns the paths a person gave into files to check. A file is checked as given (a missing or
 * unreadable one is reported when it is read); `.github/atomic-scrum.yml` is checked as the
 * repository config. A folder stands for the pipelines in it and in the layouts the docs use:
 * its own `*.yml`/`*.yaml` files, `pipelines/`, `.github/pipelines/` and `.github/atomic-scrum.yml`.
 * It is not searched deeper: `node_modules/` or a CI folder holds YAML that is no pipeline.
 */
export function validateTargets(paths: readonly string[], configs: readonly string[]): Targets {
  const out: Targets = { targets: [], skipped: [], errors: [] };
  for (const path of paths) {
    if (isDirectory(path)) addFolder(path, out);
    else out.targets.push({ file: path, kind: isRepoConfigPath(path) ? "config" : "pipeline" });
  }
  for (const file of configs) out.targets.push({ file, kind: "config" });
  return out;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    // Missing or unreadable: the read of the file says which, in one line.
    return false;
  }
}

function addFolder(dir: string, out: Targets): void {
  const before = out.targets.length;
  const skippedBefore = out.skipped.length;
  if (isScenarioFolder(dir)) {
    out.skipped.push({ path: dir, why: SCENARIOS });
  } else {
    const listed = list(dir);
    if (typeof listed === "string") {
      out.errors.push(`${dir}: ${listed}`);
      return;
    }
    addPipelines(dir, listed, out);
    for (const layout of ["pipelines", join(".github", "pipelines")]) {
      const sub = join(dir, layout);
      const entries = isDirectory(sub) ? list(sub) : [];
      if (typeof entries === "string") out.errors.push(`${sub}: ${entries}`);
      else addPipelines(sub, entries, out);
    }
    for (const name of ["atomic-scrum.yml", "atomic-scrum.yaml"]) {
      const config = join(dir, ".github", name);
      if (isFile(config)) out.targets.push({ file: config, kind: "config" });
    }
  }
  if (out.targets.length === before) {
    const skipped = out.skipped.length - skippedBefore;
    const note = skipped > 0 ? ` (${skipped} skipped, listed above)` : "";
    out.errors.push(
      `${dir}: no pipeline files in ${dir}${note}: looked for *.yml and *.yaml with a phases: key, there and in pipelines/ and .github/`,
    );
  }
}

const SCENARIOS = "scenario files, not pipelines: `atomic-scrum test <pipeline>` checks them";

/**
 * `scenarios/<pipeline>/` next to a pipeline holds its scenario tests (`atomic-scrum test`).
 * Only the folder's own name and its parent's count: a repository may live under any path.
 */
function isScenarioFolder(dir: string): boolean {
  const full = resolve(dir);
  return basename(full) === "scenarios" || basename(dirname(full)) === "scenarios";
}

function addPipelines(dir: string, entries: Dirent[], out: Targets): void {
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name === "scenarios") out.skipped.push({ path, why: SCENARIOS });
    if (!YAML_FILE.test(entry.name) || !isFile(path)) continue;
    if (isRepoConfigPath(path)) out.targets.push({ file: path, kind: "config" });
    else if (looksLikePipeline(path)) out.targets.push({ file: path, kind: "pipeline" });
    else out.skipped.push({ path, why: "no top-level phases: key, so not a pipeline" });
  }
}

/**
 * A pipeline has a top-level `phases:`; other YAML in a folder (a CI workflow, a Probot
 * `app.yml`, a scenario file) does not. A file that cannot be read is checked, so its
 * problem is reported rather than skipped.
 */
function looksLikePipeline(file: string): boolean {
  const read = readInputFile(file);
  return !read.ok || /^phases[ \t]*:/m.test(read.text);
}

function list(dir: string): Dirent[] | string {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    return describeReadError(error);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
