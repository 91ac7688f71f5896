import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { suggest } from "../pipeline/template-variables.js";

/** `pipelines/` shipped with the package (next to `src/` and `dist/`). */
export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "pipelines");

/** Names of the built-in pipelines, read off the folder so a new one is listed without code. */
export function builtinPipelineNames(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((name) => name.endsWith(".yml"))
    .map((name) => name.slice(0, -".yml".length))
    .sort();
}

/**
 * A pipeline argument is a built-in name (`coding`) or a path to a YAML file. Throws an error that
 * says how to fix the argument when it is neither, so `run codin` does not surface as a read error.
 */
export function resolvePipelinePath(nameOrPath: string): string {
  if (/^[a-z][a-z0-9-]*$/.test(nameOrPath)) {
    const builtin = join(BUILTIN_DIR, `${nameOrPath}.yml`);
    if (existsSync(builtin)) return builtin;
  }
  if (!existsSync(nameOrPath)) throw new Error(notFoundMessage(nameOrPath));
  if (statSync(nameOrPath).isDirectory()) {
    throw new Error(`pipeline "${nameOrPath}" is a directory; give the path to a .yml file in it`);
  }
  return nameOrPath;
}

function notFoundMessage(arg: string): string {
  const names = builtinPipelineNames();
  // No slash and no YAML extension: the author meant a built-in name, so offer the list.
  if (!/[/\\]/.test(arg) && !/\.ya?ml$/i.test(arg)) {
    return `unknown pipeline "${arg}": built-in pipelines are ${names.join(", ")}${suggest(arg, names)}; or give a path to a .yml file`;
  }
  return `pipeline file "${arg}" not found; check the path, or name a built-in pipeline (${names.join(", ")})`;
}
