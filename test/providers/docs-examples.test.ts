import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Tier } from "../../src/pipeline/schema.js";
import { loadFixtures } from "../../src/providers/recorded.js";
import { createProviderRegistry } from "../../src/providers/registry.js";
import { loadServerSettings } from "../../src/providers/settings.js";
import { yamlBlocks } from "../helpers/markdown.js";
import { tempDir } from "../helpers/temp.js";

const blocks = yamlBlocks(readFileSync("docs/providers.md", "utf8"), "docs/providers.md");

describe("docs/providers.md examples", () => {
  it("has a fixtures example and settings examples", () => {
    expect(blocks.some((b) => b.text.startsWith("# fixtures"))).toBe(true);
    expect(blocks.filter((b) => !b.text.startsWith("# fixtures")).length).toBeGreaterThanOrEqual(2);
  });

  it.each(blocks.map((block) => [block.line, block.text] as const))(
    "the block starting at line %i loads as what its first line says",
    (line, text) => {
      const file = join(tempDir(), `providers-md-line-${line}.yml`);
      writeFileSync(file, text);
      if (text.startsWith("# fixtures")) {
        expect(Object.keys(loadFixtures(file)).length).toBeGreaterThan(0);
        return;
      }
      const settings = loadServerSettings(file);
      // Every provider it configures is built with the tier models the example gives it.
      const registry = createProviderRegistry({ settings, env: {} });
      for (const [name, own] of Object.entries(settings.providers)) {
        const provider = registry.forChoice({ name });
        for (const [tier, model] of Object.entries(own?.models ?? {})) {
          expect(provider.modelFor(tier as Tier)).toBe(model);
        }
      }
    },
  );
});
