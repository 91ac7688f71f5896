import { existsSync, readdirSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

/** A path for people: relative to the working directory when it lies inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** Where a pipeline's scenarios live unless `--scenarios` says otherwise. */
export function defaultScenarioDir(pipelineFile: string, pipelineName: string): string {
  return join(dirname(resolve(pipelineFile)), "scenarios", pipelineName);
}

/** The scenario files of a folder (`*.yml`, `*.yaml`), by name; none if the folder is missing. */
export function listScenarioFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
    .map((entry) => join(dir, entry.name))
    .sort();
}
