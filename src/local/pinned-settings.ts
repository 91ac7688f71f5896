import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { loadServerSettings, type ProviderSettings, type ServerSettings } from "../providers/settings.js";
import type { ProviderChoice, RunRecord } from "../store/runs.js";
import { CommandError } from "./run-commands.js";

// Issue 12, item 4: a local run keeps the settings it started with. The settings file's parsed
// content is pinned on the run with its provider choice (the `provider` column), not only the
// path: the file may change or go before a resume.

/** The settings file's problems are the command's error, located and all at once. */
export function readSettings(file: string | undefined): ServerSettings {
  try {
    return loadServerSettings(file);
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
}

/**
 * The settings `file` gives (`settings`, when the caller has read it already), to pin on a run. Keys come from the environment, never the file;
 * a `base_url` carrying a user, a password or a key in its query would still put a secret in the
 * database, so that file is refused.
 */
export function settingsToPin(
  file: string | undefined,
  settings: ServerSettings = readSettings(file),
): Pick<ProviderChoice, "settings" | "settingsFile"> {
  const providers = Object.entries(settings.providers) as [string, ProviderSettings | undefined][];
  for (const [name, provider] of providers) {
    const url = provider?.base_url;
    if (url && carriesSecret(url)) {
      throw new CommandError(
        `${file}: providers.${name}.base_url carries a user, password or key; settings are stored with the run, so keep secrets in the environment (docs/providers.md) and give the URL without them`,
      );
    }
  }
  return { settings, ...(file ? { settingsFile: resolve(file) } : {}) };
}

/** The choice a registry builds providers from: the pinned settings are the registry's already. */
export function withoutSettings(choice: ProviderChoice): ProviderChoice {
  const { settings: _settings, settingsFile: _file, ...rest } = choice;
  return rest;
}

/** Whether `file` holds `pinned`; a file that cannot be read (gone, broken) does not. */
export function sameSettings(file: string, pinned: ServerSettings): boolean {
  try {
    return JSON.stringify(loadServerSettings(file)) === JSON.stringify(pinned);
  } catch {
    return false;
  }
}

function carriesSecret(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username !== "" || url.password !== "" || /key|token|secret|password/i.test(url.search);
  } catch {
    return false; // not a URL at all: the settings schema says so
  }
}

/**
 * What to say when a `--settings` given to a command about an existing run is not used: the run
 * keeps what it started with, and nobody should believe a changed price took effect. `retry`
 * builds the command that would use the file.
 */
export function keptSettingsNote(
  run: RunRecord,
  file: string | undefined,
  retry: (file: string) => string,
): string | undefined {
  const pinned = run.provider?.settings;
  const startedWith = run.provider?.settingsFile;
  if (!pinned) return undefined;
  if (!file) {
    // The run's own file, edited since it started: the edit is not used either.
    if (!startedWith || !existsSync(startedWith) || sameSettings(startedWith, pinned)) return undefined;
    return `note: run ${run.id} keeps the settings it started with; ${startedWith} has changed since, and the change is not used. Start a new run to use it, or send this one back with \`${retry(startedWith)}\`, which reads it again`;
  }
  if (sameSettings(file, pinned)) return undefined;
  const from = startedWith ? `from ${startedWith}, as it was then` : "the defaults";
  return `note: run ${run.id} keeps the settings it started with (${from}); --settings ${file} is not used. Start a new run to use it, or send this one back with \`${retry(resolve(file))}\`, which uses it from the retry on`;
}
