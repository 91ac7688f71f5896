#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Argument, Command, CommanderError, Option } from "commander";
import { breakerSettings } from "./engine/breaker.js";
import { repoConfigJsonSchemaText } from "./github/repo-config.js";
import {
  type AppFlags,
  approveCommand,
  breakersCommand,
  cancelCommand,
  type Io,
  resumeCommand,
  retryCommand,
  runCommand,
  statusCommand,
  validateCommand,
} from "./local/commands.js";
import { runDemo } from "./local/demo.js";
import { MUTATE_PROVIDERS } from "./local/mutate-judge.js";
import { testCommand } from "./local/test-command.js";
import { pipelineJsonSchemaText } from "./pipeline/json-schema.js";
import {
  breakerSettingsFrom,
  loadServerSettings,
  PROVIDER_NAMES,
  serverSettingsJsonSchemaText,
} from "./providers/settings.js";
import { terminalSafe, terminalSafeWriter } from "./render/terminal-text.js";
import { stopOnSignals } from "./util/stop-on-signals.js";

interface RawFlags {
  repo: string;
  db?: string;
  provider: string;
  fixtures?: string;
  settings?: string;
  wait: boolean;
}

interface TestFlags {
  scenarios?: string;
  mutate?: boolean;
  scenario?: string;
  provider?: string;
  settings?: string;
}

const SETTINGS_HELP = "server settings file: providers, prices, breaker, daily budget (docs/providers.md)";

function appOptions(command: Command): Command {
  return command
    .option("--repo <dir>", "the local git repository", ".")
    .option("--db <path>", "SQLite database (default: <repo>/.git/atomic-scrum/atomic-scrum.db)")
    .addOption(
      new Option("--provider <name>", "model provider (real ones read their key from the environment)")
        .choices(PROVIDER_NAMES)
        .default("simulated"),
    )
    .option("--fixtures <file>", "recorded outputs, for --provider recorded")
    .option("--settings <file>", SETTINGS_HELP, process.env.ATOMIC_SCRUM_SETTINGS)
    .option("--no-wait", "end cooldowns at once (demos and tests)");
}

function flags(raw: RawFlags): AppFlags {
  const out: AppFlags = { repo: raw.repo, provider: raw.provider, wait: raw.wait };
  if (raw.db) out.db = raw.db;
  if (raw.fixtures) out.fixtures = raw.fixtures;
  if (raw.settings) out.settings = raw.settings;
  // Ctrl-C during run/resume: say how to continue, give the lease back, exit 130 (issue 12).
  out.signals = process;
  return out;
}

/** Who a local cancel or retry is by, in its reason ("cancelled by alice"), never "by local". */
function localUser(): string {
  return process.env.USER || process.env.LOGNAME || "a local user";
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

  program
    .command("validate")
    .description("check pipeline files; prints file:line:col: field: message per problem")
    .argument("<files...>")
    .action((files: string[]) => {
      code = validateCommand(files, io);
    });
  appOptions(program.command("run"))
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
  appOptions(program.command("resume"))
    .description("continue a run after a cooldown, a crash or a stop")
    .argument("<run-id>")
    .action(async (runId: string, raw: RawFlags) => {
      code = await resumeCommand(runId, flags(raw), io);
    });
  appOptions(program.command("approve"))
    .description("give the human review a local run waits for")
    .argument("<run-id>")
    .option("--by <name>", "who approves", process.env.USER ?? "local-reviewer")
    .action(async (runId: string, raw: RawFlags & { by: string }) => {
      code = await approveCommand(runId, raw.by, flags(raw), io);
    });
  appOptions(program.command("cancel"))
    .description("stop a run")
    .argument("<run-id>")
    .action(async (runId: string, raw: RawFlags) => {
      code = await cancelCommand(runId, localUser(), flags(raw), io);
    });
  appOptions(program.command("retry"))
    .description("send a failed run back to the phase it failed in (or [phase]) in a new round, and work it")
    .argument("<run-id>")
    .argument("[phase]", "the phase to run again, and every phase after it (default: where the run stopped)")
    .action(async (runId: string, phase: string | undefined, raw: RawFlags) => {
      code = await retryCommand(runId, phase, localUser(), flags(raw), io);
    });
  appOptions(program.command("status"))
    .description("list runs, or show one run's phases")
    .argument("[run-id]")
    .action((runId: string | undefined, raw: RawFlags) => {
      code = statusCommand(runId, flags(raw), io);
    });
  program
    .command("breakers")
    .description(
      "show the circuit breaker of each (task type, tier): state, failures in the window, when it half-opens",
    )
    .option("--repo <dir>", "the local git repository", ".")
    .option("--db <path>", "SQLite database (default: <repo>/.git/atomic-scrum/atomic-scrum.db)")
    .option("--settings <file>", SETTINGS_HELP, process.env.ATOMIC_SCRUM_SETTINGS)
    .action((raw: { repo: string; db?: string; settings?: string }) => {
      const settings = breakerSettings(breakerSettingsFrom(loadServerSettings(raw.settings)));
      code = breakersCommand(raw.db ? { repo: raw.repo, db: raw.db } : { repo: raw.repo }, io, { settings });
    });
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
    io.err(`atomic-scrum: ${(error as Error).message}`);
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

if (isEntryPoint()) {
  const io: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    // main answers its own errors; one that escapes it still prints terminal-safe, without a stack.
    (error: unknown) => {
      process.stderr.write(
        `${terminalSafe(`atomic-scrum: ${error instanceof Error ? error.message : String(error)}`)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
