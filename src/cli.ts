#!/usr/bin/env node
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Argument, Command, CommanderError, Option } from "commander";
import { breakerSettings } from "./engine/breaker.js";
import { repoConfigJsonSchemaText } from "./github/repo-config.js";
import { breakersCommand, breakersResetCommand } from "./local/breakers-command.js";
import {
  type AppFlags,
  approveCommand,
  cancelCommand,
  type Io,
  resumeCommand,
  retryCommand,
  runCommand,
  statusCommand,
} from "./local/commands.js";
import { runDemo } from "./local/demo.js";
import { MUTATE_PROVIDERS } from "./local/mutate-judge.js";
import { testCommand } from "./local/test-command.js";
import { validateCommand } from "./local/validate-command.js";
import { pipelineJsonSchemaText } from "./pipeline/json-schema.js";
import { TASKS, type Task, TIERS, type Tier } from "./pipeline/schema.js";
import {
  breakerSettingsFrom,
  loadServerSettings,
  PROVIDER_NAMES,
  serverSettingsJsonSchemaText,
} from "./providers/settings.js";
import { terminalSafe, terminalSafeWriter } from "./render/terminal-text.js";
import { stopOnSignals } from "./util/stop-on-signals.js";

/** What the local commands' options give; each command has only the options it acts on. */
interface RawFlags {
  repo: string;
  db?: string;
  provider?: string;
  fixtures?: string;
  settings?: string;
  wait?: boolean;
}

interface TestFlags {
  scenarios?: string;
  mutate?: boolean;
  scenario?: string;
  provider?: string;
  settings?: string;
}

const SETTINGS_HELP = "server settings file: providers, prices, breaker, daily budget (docs/providers.md)";

/** Where the runs are: the options of every local command. */
function repoOptions(command: Command): Command {
  return command
    .option("--repo <dir>", "the local git repository", ".")
    .option("--db <path>", "SQLite database (default: <repo>/.git/atomic-scrum/atomic-scrum.db)");
}

/** `resume`, `approve`: a run keeps the settings it started with (issue 12); the file is a fallback. */
const KEPT_SETTINGS_HELP =
  "a run keeps the settings it started with; this file is read only for an older run that has none recorded (another file prints a note; `retry --settings` changes them)";

/** `retry`: the settings file is read again, and a changed one is the run's from then on. */
const RETRY_SETTINGS_HELP =
  "settings file the run takes from this retry on (default: the one it started with, read again) (docs/providers.md)";

/** Commands that work a run on (calls, cooldowns): the settings and the cooldown switch act. */
function workOptions(command: Command, settingsHelp = SETTINGS_HELP): Command {
  return repoOptions(command)
    .option("--settings <file>", settingsHelp, process.env.ATOMIC_SCRUM_SETTINGS)
    .option("--no-wait", "end cooldowns at once (demos and tests)");
}

/** `run`: the provider a new run uses, pinned on it for every later command (issue 12). */
function providerOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--provider <name>", "model provider (real ones read their key from the environment)")
        .choices(PROVIDER_NAMES)
        .default("simulated"),
    )
    .option("--fixtures <file>", "recorded outputs, for --provider recorded");
}

/**
 * `resume`, `approve`, `retry`: a run goes on with the provider it was started with, so these act
 * only on an older run that has none recorded; no default is shown, since none applies to the rest.
 */
function olderRunProviderOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--provider <name>",
        "a run keeps the provider it was started with; this names one only for an older run that has none recorded (then: simulated)",
      ).choices(PROVIDER_NAMES),
    )
    .option(
      "--fixtures <file>",
      "recorded outputs for --provider recorded (an older run only, as --provider)",
    );
}

function flags(raw: RawFlags): AppFlags {
  const out: AppFlags = { repo: raw.repo, provider: raw.provider ?? "simulated", wait: raw.wait ?? true };
  if (raw.db) out.db = raw.db;
  if (raw.fixtures) out.fixtures = raw.fixtures;
  if (raw.settings) out.settings = raw.settings;
  // Ctrl-C during run/resume: say how to continue, give the lease back, exit 130 (issue 12).
  out.signals = process;
  return out;
}

/** The version in package.json, read when asked for, so it is written in one place only. */
function packageVersion(): string {
  const file = new URL("../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** `ATOMIC_SCRUM_DEBUG=1`: an error also prints its stack trace (for a bug report). */
function debugging(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.ATOMIC_SCRUM_DEBUG) && env.ATOMIC_SCRUM_DEBUG !== "0";
}

/** One line for an error; its stack only with ATOMIC_SCRUM_DEBUG set. */
function errorText(error: unknown): string {
  const message = `atomic-scrum: ${error instanceof Error ? error.message : String(error)}`;
  return debugging() && error instanceof Error && error.stack ? `${message}\n${error.stack}` : message;
}

/** Who a local cancel, retry or approval is by ("cancelled by alice"): never "by local", nor empty. */
function localUser(unknown = "a local user"): string {
  return process.env.USER || process.env.LOGNAME || unknown;
}

/** The command line, callable in-process (tests) as well as from the `atomic-scrum` binary. */
export async function main(argv: string[], output: Io): Promise<number> {
  // Issue titles, model answers and file names reach what the CLI prints: every line, commander's
  // own messages and the error handler's included, is made terminal-safe here (issue 11).
  const io: Io = terminalSafeWriter(output);
  let code = 0;
  const program = new Command("atomic-scrum")
    .description(
      "Run YAML pipelines of LLM phases with quality gates, on a local git repository or as a GitHub App.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    });
  // Read only when asked for: a bundled copy of the CLI (test/local/crash.test.ts) has no
  // package.json beside it, and needs none to run.
  program.option("-V, --version", "print the version of atomic-scrum").on("option:version", () => {
    io.out(packageVersion());
    throw new CommanderError(0, "commander.version", packageVersion());
  });

  program
    .command("validate")
    .description(
      "check pipelines and the repository config before you push them; prints file:line:col: field: message per problem",
    )
    .argument(
      "[paths...]",
      "pipeline files or folders of them; a .github/atomic-scrum.yml is checked as the repository config",
    )
    .option(
      "--config <file>",
      "check this file as the repository config (.github/atomic-scrum.yml) and the pipelines it names",
      (file: string, files: string[] | undefined) => [...(files ?? []), file],
    )
    .option("--settings <file>", "check this server settings file too (docs/providers.md)")
    .action((paths: string[], raw: { config?: string[]; settings?: string }) => {
      code = validateCommand(paths, io, {
        config: raw.config ?? [],
        ...(raw.settings ? { settings: raw.settings } : {}),
      });
    });
  providerOptions(workOptions(program.command("run")))
    .description("start a pipeline run on an issue")
    .argument("<pipeline>", "a built-in pipeline (coding, content) or a path to a YAML file")
    .requiredOption("--issue <file>", "the issue: Markdown (# Title, then the body) or JSON")
    .option(
      "--dry-run",
      "render every prompt, report gaps and forecast the cost; call no model (docs/dry-run.md)",
    )
    .action(async (pipeline: string, raw: RawFlags & { issue: string; dryRun?: boolean }) => {
      const dryRun = raw.dryRun ? { dryRun: true } : {};
      code = (await runCommand(pipeline, raw.issue, { ...flags(raw), ...dryRun }, io)).code;
    });
  program
    .command("test")
    .description("run a pipeline's scenario tests: recorded model answers, expected gates and outcome")
    .argument("<pipeline>", "a built-in pipeline (coding, content) or a path to a YAML file")
    .option(
      "--scenarios <dir>",
      "the scenario files (default: scenarios/<pipeline name>/ next to the pipeline)",
    )
    .option(
      "--mutate",
      "mutation test: feed each gated phase bad outputs made from a scenario's good ones; report what each gate caught (docs/gates.md#mutation-testing)",
    )
    .option(
      "--scenario <name>",
      "with --mutate: the scenario to start from (default: the first in which every phase passes first time)",
    )
    .addOption(
      new Option(
        "--provider <name>",
        "with --mutate: grade with this provider's real judges instead of the offline heuristic (spends tokens)",
      ).choices(MUTATE_PROVIDERS),
    )
    .option("--settings <file>", SETTINGS_HELP, process.env.ATOMIC_SCRUM_SETTINGS)
    .action(async (pipeline: string, raw: TestFlags) => {
      code = await testCommand(pipeline, raw, io);
    });
  olderRunProviderOptions(workOptions(program.command("resume"), KEPT_SETTINGS_HELP))
    .description("continue a run after a cooldown, a crash or a stop")
    .argument("<run-id>")
    .action(async (runId: string, raw: RawFlags) => {
      code = await resumeCommand(runId, flags(raw), io);
    });
  olderRunProviderOptions(workOptions(program.command("approve"), KEPT_SETTINGS_HELP))
    .description("give the human review a local run waits for")
    .argument("<run-id>")
    .option("--by <name>", "who approves", localUser("local-reviewer"))
    .action(async (runId: string, raw: RawFlags & { by: string }) => {
      code = await approveCommand(runId, raw.by, flags(raw), io);
    });
  repoOptions(program.command("cancel"))
    .description("stop a run")
    .argument("<run-id>")
    .action(async (runId: string, raw: RawFlags) => {
      code = await cancelCommand(runId, localUser(), flags(raw), io);
    });
  olderRunProviderOptions(workOptions(program.command("retry"), RETRY_SETTINGS_HELP))
    .description("send a failed run back to the phase it failed in (or [phase]) in a new round, and work it")
    .argument("<run-id>")
    .argument("[phase]", "the phase to run again, and every phase after it (default: where the run stopped)")
    .action(async (runId: string, phase: string | undefined, raw: RawFlags) => {
      code = await retryCommand(runId, phase, localUser(), flags(raw), io);
    });
  repoOptions(program.command("status"))
    .description("list runs, or show one run's phases")
    .argument("[run-id]")
    .action((runId: string | undefined, raw: RawFlags) => {
      code = statusCommand(runId, flags(raw), io);
    });
  const breakers = program
    .command("breakers")
    .description(
      "show the circuit breaker of each (provider, model, task type, tier): state, failures in the window, when it half-opens; `breakers reset` closes them",
    )
    .option("--repo <dir>", "the local git repository", ".")
    .option("--db <path>", "SQLite database (default: <repo>/.git/atomic-scrum/atomic-scrum.db)")
    .option("--settings <file>", SETTINGS_HELP, process.env.ATOMIC_SCRUM_SETTINGS)
    .action((raw: { repo: string; db?: string; settings?: string }) => {
      const settings = breakerSettings(breakerSettingsFrom(loadServerSettings(raw.settings)));
      code = breakersCommand(raw.db ? { repo: raw.repo, db: raw.db } : { repo: raw.repo }, io, { settings });
    });
  breakers
    .command("reset")
    .description("close the breakers the filters match, forgetting their failures (no filter: every breaker)")
    .option("--repo <dir>", "the local git repository", ".")
    .option("--db <path>", "SQLite database (default: <repo>/.git/atomic-scrum/atomic-scrum.db)")
    .option("--provider <name>", "only this provider's breakers (anthropic, simulated, ...)")
    .option("--model <id>", "only this model's breakers")
    .addOption(new Option("--task <task>", "only this task type's breakers").choices(TASKS))
    .addOption(new Option("--tier <tier>", "only this tier's breakers").choices(TIERS))
    .action(
      (raw: { repo: string; db?: string; provider?: string; model?: string; task?: Task; tier?: Tier }) => {
        // `breakers --db X reset` gives --db to the parent: either place works.
        const parent = breakers.opts<{ repo: string; db?: string }>();
        const db = raw.db ?? parent.db;
        const repo = raw.repo !== "." ? raw.repo : parent.repo;
        code = breakersResetCommand({ ...raw, repo, ...(db === undefined ? {} : { db }) }, io);
      },
    );
  program
    .command("schema")
    .description(
      "print a JSON Schema for editors: of pipeline files, .github/atomic-scrum.yml, or the server settings file",
    )
    .addArgument(
      new Argument("[which]", "which file it describes")
        .choices(["pipeline", "config", "settings"])
        .default("pipeline"),
    )
    .action((which: "pipeline" | "config" | "settings") => {
      const text = {
        pipeline: pipelineJsonSchemaText,
        config: repoConfigJsonSchemaText,
        settings: serverSettingsJsonSchemaText,
      };
      io.out(text[which]().trimEnd());
    });
  program
    .command("serve")
    .description(
      "run the GitHub App: webhooks and the worker in one process (Probot's APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, PORT)",
    )
    .option("--db <path>", "SQLite database", process.env.ATOMIC_SCRUM_DB ?? "atomic-scrum.db")
    .action(async (raw: { db: string }) => {
      // Loaded only here, so local commands never load Probot (start-up time on a small machine).
      const { serve } = await import("./app.js");
      const served = await serve({ dbPath: raw.db, env: process.env });
      // SIGTERM (containers) and SIGINT (Ctrl-C) both let the worker finish its effect first.
      stopOnSignals(served, process, io.err);
      code = 0;
    });
  program
    .command("demo")
    .description("run both built-in pipelines offline on a fresh sample repository")
    .option("--dir <dir>", "where to create the sample repository (default: a new temp folder)")
    .action(async (raw: { dir?: string }) => {
      code = await runDemo(raw.dir, io);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    io.err(errorText(error));
    return 1;
  }
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? "") === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * A reader that stops early (`atomic-scrum status | head -2`) closes the pipe, and the next write
 * fails with EPIPE: an 'error' event on the stream (or on Probot's logger, which writes to fd 1
 * itself) that Node turns into a crash with a stack trace. The CLI stops at once instead, quietly
 * and with status 0, as a program killed by SIGPIPE stops: output is what was asked to be cut, not
 * a failure. A run being worked is left as a crash leaves it; `resume` continues it.
 */
function isClosedPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "EPIPE";
}

function onFatal(error: unknown): void {
  if (isClosedPipe(error)) process.exit(0);
  // Not an ordinary failure (main answers those): a bug, named in one line; its stack with
  // ATOMIC_SCRUM_DEBUG=1. stderr may be the stream that failed, so writing is tried only once.
  try {
    const hint = debugging() ? "" : " (ATOMIC_SCRUM_DEBUG=1 shows where)";
    process.stderr.write(`${terminalSafe(`${errorText(error)}${hint}`)}\n`);
  } finally {
    process.exit(1);
  }
}

if (isEntryPoint()) {
  for (const stream of [process.stdout, process.stderr]) stream.on("error", onFatal);
  process.on("uncaughtException", onFatal);
  const io: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  }, onFatal);
}
