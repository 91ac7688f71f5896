import { createPrivateKey } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";

/** Where the server listens and takes webhooks: HOST, PORT and WEBHOOK_PATH. */
export interface ListenEnv {
  host: string;
  /** 0 picks a free port. */
  port: number;
  webhookPath: string;
}

/** The settings `atomic-scrum serve` runs the GitHub App with, read from Probot's variables. */
export interface AppEnv extends ListenEnv {
  appId: number;
  /** The app's private key, as PEM text. */
  privateKey: string;
  secret: string;
  /** GitHub's REST API: api.github.com, or GHE_HOST's `/api/v3`. */
  baseUrl: string;
}

/** Setup mode: no credentials at all, so Probot's flow registers the app from `app.yml`. */
export type ProbotEnv = { mode: "setup" } | ({ mode: "app" } & AppEnv);

/** A variable's value, unless it is unset or blank. Each is read as `env.<name>`, so test/docs/serve-env.test.ts finds it. */
function given(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/**
 * Reads and checks Probot's variables (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET,
 * PORT, HOST, WEBHOOK_PATH, GHE_HOST, GHE_PROTOCOL) the way Probot does, but fails on the first
 * wrong one with an error that names it. Probot printed a stack trace for an unreadable key and
 * went on serving its setup page, which a health check took for a working app that could receive
 * no webhook (issue 11, class 16). With none of APP_ID, PRIVATE_KEY, PRIVATE_KEY_PATH set it is
 * setup mode, as with Probot. `cwd` is where PRIVATE_KEY_PATH is resolved and a lone `.pem`
 * file is looked for, as Probot does.
 */
export function readProbotEnv(env: NodeJS.ProcessEnv, cwd: string): ProbotEnv {
  if (!given(env.APP_ID) && !given(env.PRIVATE_KEY) && !given(env.PRIVATE_KEY_PATH)) {
    // Probot's `run` refuses setup mode in production too: a server there must be registered.
    if (env.NODE_ENV === "production")
      throw new Error(
        "APP_ID is not set and NODE_ENV is production, where setup mode is not offered: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET",
      );
    return { mode: "setup" };
  }
  const appIdText = given(env.APP_ID);
  if (appIdText === undefined)
    throw new Error(
      "APP_ID is not set, though a private key is: set it to the App ID on your GitHub App's settings page",
    );
  if (!/^[1-9]\d{0,15}$/.test(appIdText.trim()))
    throw new Error(
      `APP_ID must be your GitHub App's numeric App ID (its settings page shows it), got "${appIdText.slice(0, 40)}"`,
    );
  // Without a secret Probot falls back to a well-known one, and anyone could forge a webhook.
  const secret = given(env.WEBHOOK_SECRET);
  if (secret === undefined)
    throw new Error("WEBHOOK_SECRET is not set: set it to the webhook secret of your GitHub App (see .env)");
  return {
    mode: "app",
    appId: Number(appIdText.trim()),
    privateKey: readPrivateKey(env, cwd),
    secret,
    baseUrl: readBaseUrl(env),
    ...readListenEnv(env),
  };
}

/** HOST (default localhost), PORT (default 3000; 0 for a free one) and WEBHOOK_PATH, checked. */
export function readListenEnv(env: NodeJS.ProcessEnv): ListenEnv {
  return {
    host: given(env.HOST) ?? "localhost",
    port: readPort(given(env.PORT)),
    webhookPath: readWebhookPath(given(env.WEBHOOK_PATH)),
  };
}

/** PRIVATE_KEY (PEM, base64 of it, or PEM with `\n` escapes), else PRIVATE_KEY_PATH, else a lone `.pem`. */
function readPrivateKey(env: NodeJS.ProcessEnv, cwd: string): string {
  const inline = env.PRIVATE_KEY?.trim();
  if (inline) return checkPem(unescapeKey(inline), "PRIVATE_KEY", "paste the whole .pem file into it");
  const path = env.PRIVATE_KEY_PATH?.trim();
  if (path) return checkPem(readKeyFile(resolve(cwd, path), "PRIVATE_KEY_PATH"), "PRIVATE_KEY_PATH", "");
  const pems = readdirSync(cwd).filter((file) => file.endsWith(".pem"));
  if (pems.length !== 1)
    throw new Error(
      pems.length === 0
        ? "APP_ID is set but no private key is: set PRIVATE_KEY to the contents of the app's .pem file, or PRIVATE_KEY_PATH to its path"
        : `APP_ID is set, no PRIVATE_KEY or PRIVATE_KEY_PATH is, and ${cwd} has several .pem files (${pems.join(", ")}): set PRIVATE_KEY_PATH to the app's`,
    );
  const file = resolve(cwd, pems[0] as string);
  return checkPem(
    readKeyFile(file, `the key file ${file}`),
    `the key file ${file}`,
    "or set PRIVATE_KEY_PATH",
  );
}

function readKeyFile(file: string, setting: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : (code ?? "unreadable");
    throw new Error(
      `${setting}: cannot read the private key at ${file} (${why}); set it to the app's .pem file`,
    );
  }
}

/** Probot's forms of an inline key: base64 of the PEM, and PEM with literal `\n` for newlines. */
function unescapeKey(value: string): string {
  let key = value;
  if (!key.includes("-----BEGIN") && /^[A-Za-z0-9+/=\s]+$/.test(key))
    key = Buffer.from(key, "base64").toString("utf8");
  return key.replace(/\\n/g, "\n");
}

/**
 * A key the JWT signer can use: PEM armour around a private key Node can load. The key's text is
 * never part of the error (it is a secret); only what kind of thing it is not.
 */
function checkPem(text: string, setting: string, hint: string): string {
  const armour = /-----BEGIN ((?:RSA )?PRIVATE KEY)-----([\s\S]*?)-----END \1-----/.exec(text);
  const fix = hint ? `: ${hint}` : "";
  if (!armour)
    throw new Error(
      `${setting} is not a PEM private key (no "-----BEGIN RSA PRIVATE KEY-----" ... "-----END RSA PRIVATE KEY-----")${fix}`,
    );
  // A PEM pasted onto one line (spaces for newlines) is what Probot mends too.
  const pem = `-----BEGIN ${armour[1]}-----\n${(armour[2] ?? "").trim().replace(/\s+/g, "\n")}\n-----END ${armour[1]}-----\n`;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "rsa") throw new Error(`a ${key.asymmetricKeyType} key`);
  } catch (error) {
    throw new Error(
      `${setting} holds a PEM block that is not a usable RSA private key (${(error as Error).message})${fix}`,
    );
  }
  return pem;
}

function readPort(text: string | undefined): number {
  if (text === undefined) return 3000;
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(port >= 0 && port <= 65535))
    throw new Error(
      `PORT must be a port number from 0 to 65535 (0: any free port), got "${text.slice(0, 20)}"`,
    );
  return port;
}

function readWebhookPath(text: string | undefined): string {
  if (text === undefined) return "/api/github/webhooks";
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$/.test(text))
    throw new Error(`WEBHOOK_PATH must be a URL path starting with "/", got "${text.slice(0, 80)}"`);
  return text;
}

/** GitHub Enterprise Server: GHE_HOST is a host name (and port), GHE_PROTOCOL http or https. */
function readBaseUrl(env: NodeJS.ProcessEnv): string {
  const host = env.GHE_HOST?.trim();
  if (!host) return "https://api.github.com";
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host))
    throw new Error(
      `GHE_HOST must be the Enterprise server's host name only (ghe.example.com), not a URL, got "${host.slice(0, 80)}"`,
    );
  const protocol = env.GHE_PROTOCOL?.trim() || "https";
  if (protocol !== "https" && protocol !== "http")
    throw new Error(`GHE_PROTOCOL must be https or http, got "${protocol.slice(0, 20)}"`);
  return `${protocol}://${host}/api/v3`;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Probot's logging variables, as its `run` reads them: LOG_LEVEL (default info; pino's own error
 * for a wrong one was "default level:verbose must be included in custom levels"), LOG_FORMAT
 * `pretty` or else `json`, and json when it is unset and NODE_ENV is production. createProbot,
 * which serve uses, would log at warn and pretty even in production.
 */
export function readLogEnv(env: NodeJS.ProcessEnv): { LOG_LEVEL: LogLevel; LOG_FORMAT: "json" | "pretty" } {
  const level = given(env.LOG_LEVEL)?.trim() ?? "info";
  if (!isLogLevel(level))
    throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${level.slice(0, 20)}"`);
  const format = given(env.LOG_FORMAT)?.trim();
  const json = format === undefined ? env.NODE_ENV === "production" : format !== "pretty";
  // Probot imports @sentry/node only when SENTRY_DSN is set (with npx, it installs it for the
  // run); missing, it printed "Failed to initialize Probot" and a stack, and serve stopped.
  if (given(env.SENTRY_DSN) && env.npm_lifecycle_event !== "npx" && !installed("@sentry/node"))
    throw new Error(
      "SENTRY_DSN is set, but @sentry/node (which Probot sends errors to Sentry with) is not installed: run `npm install @sentry/node@9` where atomic-scrum is installed, or unset SENTRY_DSN",
    );
  return { LOG_LEVEL: level, LOG_FORMAT: json ? "json" : "pretty" };
}

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}
