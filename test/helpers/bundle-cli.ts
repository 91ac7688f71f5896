import { symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * Bundles `src/cli.ts` into `dir/cli.mjs` for tests that run the CLI as a real child process.
 * Bundled once, dependencies included, so each start costs one node process reading one file
 * (a third of the CPU of loading every package's files). better-sqlite3 is native: it stays
 * outside and resolves through the symlinked node_modules; bundled CommonJS needs `require`.
 */
export async function bundleCli(dir: string): Promise<string> {
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const cli = join(dir, "cli.mjs");
  await build({
    entryPoints: [join(ROOT, "src/cli.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3"],
    banner: {
      js: 'import { createRequire as bundledCliRequire } from "node:module"; const require = bundledCliRequire(import.meta.url);',
    },
    outfile: cli,
    logLevel: "warning",
  });
  return cli;
}
