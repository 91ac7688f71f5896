import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** `pipelines/` shipped with the package (next to `src/` and `dist/`). */
export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "pipelines");

/** A pipeline argument is a built-in name (`coding`) or a path to a YAML file. */
export function resolvePipelinePath(nameOrPath: string): string {
  if (/^[a-z][a-z0-9-]*$/.test(nameOrPath)) {
    const builtin = join(BUILTIN_DIR, `${nameOrPath}.yml`);
    if (existsSync(builtin)) return builtin;
  }
  return nameOrPath;
}
