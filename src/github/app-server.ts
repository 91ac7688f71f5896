import { existsSync } from "node:fs";
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  type ApplicationFunction,
  createProbot,
  type Logger,
  Probot,
  type ProbotOctokit,
  Server,
} from "probot";
import { shellWord } from "../util/shell-word.js";
import { type AppEnv, type ListenEnv, readLogEnv } from "./read-probot-env.js";
import { type Check, readyRoute, SETUP_MODE } from "./readiness.js";
import { createWebhookEndpoint } from "./webhook-endpoint.js";

/**
 * A whole request, headers and body, must arrive within this: GitHub gives a delivery 10 s, and a
 * client that drips a body byte by byte must not hold a connection and its buffer for Node's
 * default five minutes.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The webhook server `atomic-scrum serve` runs once the app has credentials. */
export interface AppServer {
  readonly port: number;
  readonly host: string;
  readonly probot: Probot;
  /** Stops taking requests and closes open connections. */
  stop: () => Promise<void>;
}

/** Probot's setup server, `atomic-scrum serve` with no credentials. */
export interface SetupServer {
  readonly port: number;
  readonly host: string;
  stop: () => Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Probot's own server (`run`) reads a webhook's whole body before checking its signature and logs
 * a refused one with its payload (issue 11, class 5), so this serves the app on a plain Node
 * server instead: GET /ping for liveness, GET /ready for readiness (`ready`'s checks), the
 * webhook path through our endpoint (src/github/webhook-endpoint.ts), then any route the app added
 * with `addHandler`, then 404. Probot still logs (LOG_LEVEL, LOG_FORMAT), authenticates and
 * dispatches. `rawEnv` is the environment Probot reads its logging settings from.
 */
export async function startAppServer(options: {
  appFn: ApplicationFunction;
  env: AppEnv;
  rawEnv: NodeJS.ProcessEnv;
  /** Probot's logger; by default one from LOG_LEVEL and LOG_FORMAT, as Probot makes it. */
  log?: Logger;
  /** The Octokit class Probot authenticates with (the app's own: no blind retries of writes). */
  Octokit?: typeof ProbotOctokit;
  /** What GET /ready checks, each "ok" or what is wrong; read once the app is loaded. */
  ready?: () => Record<string, Check>;
}): Promise<AppServer> {
  const { env } = options;
  const settings = {
    env: probotSettingsEnv(options.rawEnv),
    overrides: {
      appId: env.appId,
      privateKey: env.privateKey,
      secret: env.secret,
      baseUrl: env.baseUrl,
      ...(options.Octokit ? { Octokit: options.Octokit } : {}),
    },
  };
  // Probot makes its logger (LOG_LEVEL, LOG_FORMAT) only in ready(): one is made to take it.
  const maker = options.log ? undefined : createProbot(settings);
  await maker?.ready();
  const probot = createProbot({
    ...settings,
    overrides: { ...settings.overrides, log: withoutPayloads((options.log ?? maker?.log) as Logger) },
  });
  await probot.ready();
  const routes: Handler[] = [];
  await probot.load(options.appFn, { cwd: process.cwd(), addHandler: (handler) => routes.push(handler) });
  const log = probot.log.child({ name: "webhook" });
  const webhooks = createWebhookEndpoint({
    path: env.webhookPath,
    secret: env.secret,
    log,
    receive: (delivery) => probot.receive(delivery as Parameters<Probot["receive"]>[0]),
  });
  const ready = readyRoute(options.ready?.() ?? {}, probot.log.child({ name: "ready" }));
  const handlers: Handler[] = [ping, ready, webhooks, ...routes, misdirected(env.webhookPath, log)];
  const server = createServer(async (req, res) => {
    try {
      for (const handler of handlers) if (await handler(req, res)) return;
      if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    } catch (error) {
      log.error({ path: req.url?.split("?")[0], message: (error as Error).message }, "request failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end("internal error\n");
    }
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(server.headersTimeout, REQUEST_TIMEOUT_MS);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`PORT ${env.port} is in use on ${env.host}: set PORT to a free port`)
          : error,
      ),
    );
    server.listen(env.port, env.host, resolve);
  });
  const address = server.address() as AddressInfo;
  log.info(`Listening on http://${env.host}:${address.port}`);
  if (options.rawEnv.REDIS_URL)
    log.warn(
      "REDIS_URL is ignored: serve is one process, and GitHub's rate limits are kept in its database (Probot would share its request throttling through Redis)",
    );
  if (options.rawEnv.WEBHOOK_PROXY_URL)
    log.warn(
      `WEBHOOK_PROXY_URL is set, but atomic-scrum serve does not forward from it: run \`npx smee-client --url ${options.rawEnv.WEBHOOK_PROXY_URL} --target http://localhost:${address.port}${env.webhookPath}\`, or unset it`,
    );
  return {
    port: address.port,
    host: address.address,
    probot,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections would hold close() open until they time out.
        server.closeIdleConnections();
      }),
  };
}

/**
 * `atomic-scrum serve` with no credentials: Probot's setup flow (`run`'s setup mode: the manifest
 * pages from `/`, the smee.io channel it offers unless NO_SMEE_SETUP=true, PROJECT_DOMAIN or
 * WEBHOOK_PROXY_URL is set), on Probot's own server, plus GET /ready answering 503: a probe must
 * never take an unregistered app for a working one. Probot's `run` offers no way to add a route
 * in setup mode, so its setup branch is done here with its own parts; when its setup module
 * cannot be found (a later Probot moved it), `run` serves the flow without /ready.
 */
export async function startSetupServer(options: {
  listen: ListenEnv;
  rawEnv: NodeJS.ProcessEnv;
  Octokit?: typeof ProbotOctokit;
  /** Runs Probot's own setup mode: the fallback. */
  run: () => Promise<SetupServer>;
  /** Where Probot reads `app.yml` and writes `.env`: the working directory. */
  cwd?: string;
}): Promise<SetupServer> {
  const { listen } = options;
  checkSetupMode(listen, options.cwd ?? process.cwd());
  const factory = await loadSetupFactory();
  const maker = createProbot({
    env: probotSettingsEnv(options.rawEnv),
    overrides: { appId: 1, privateKey: SETUP_KEY },
  });
  await maker.ready();
  const log = maker.log;
  if (!factory) {
    log.warn(
      "Probot's setup module was not found where Probot 14.3 has it: GET /ready is not served in setup mode",
    );
    return options.run();
  }
  const server = new Server({
    host: listen.host,
    port: listen.port,
    webhookPath: listen.webhookPath,
    log: setupServerLog(log),
    // As Probot's `run` does (its #1512): the instance needs some credentials and is never used.
    Probot: Probot.defaults({
      appId: 1,
      privateKey: SETUP_KEY,
      log,
      ...(options.Octokit ? { Octokit: options.Octokit } : {}),
    }),
  });
  server.addHandler(readyRoute({ credentials: () => SETUP_MODE }));
  await server.loadHandlerFactory(
    factory({ host: server.host, port: server.port, log: log.child({ name: "setup" }) }),
  );
  let http: HttpServer;
  try {
    http = await server.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new Error(`PORT ${listen.port} is in use on ${listen.host}: set PORT to a free port`);
    throw error;
  }
  return {
    port: server.port,
    host: server.host,
    stop: async () => {
      const closed = server.stop();
      // Keep-alive connections would hold close() open until they time out.
      http.closeIdleConnections();
      await closed;
    },
  };
}

/**
 * `log` for Probot's setup server, without two lines. The request line of a readiness probe:
 * probes come every few seconds, and Probot's request logger (pino-http) writes each 503 with a
 * made-up error and its stack trace (the app server logs no probe either). And a port in use,
 * which Probot logs with its stack before serve says it in one line.
 */
function setupServerLog(log: Logger): Logger {
  return rewriteLines(log, (first) => {
    if ((first as NodeJS.ErrnoException | null)?.code === "EADDRINUSE") return DROP;
    // pino-http's line holds the response, and the request in it.
    const url = (first as { res?: { req?: { url?: unknown } } } | null)?.res?.req?.url;
    return typeof url === "string" && url.split("?")[0] === "/ready" ? DROP : first;
  });
}

/**
 * The environment Probot's createProbot reads: logging as Probot's `run` reads it, and no
 * REDIS_URL. With one, Probot loads ioredis (it is not installed: "Failed to initialize Probot"
 * and a stack) to share its request throttling between processes, which one process never needs.
 */
function probotSettingsEnv(rawEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...rawEnv, ...readLogEnv(rawEnv), REDIS_URL: undefined };
}

const SETUP_KEY = "dummy value for setup, see probot#1512";

type SetupFactory = (options: {
  host: string;
  port: number;
  log: Logger;
}) => () => Promise<(req: IncomingMessage, res: ServerResponse) => Promise<boolean>>;

/** Probot's setup handler factory: internal to Probot (not exported), so found by its path. */
async function loadSetupFactory(): Promise<SetupFactory | undefined> {
  try {
    const main = createRequire(import.meta.url).resolve("probot");
    const module = (await import(new URL("apps/setup.js", pathToFileURL(main)).href)) as {
      setupAppFactory?: SetupFactory;
    };
    return typeof module.setupAppFactory === "function" ? module.setupAppFactory : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A webhook POSTed to another path: Probot's setup flow registers the app with the page's root
 * (`${baseUrl}/`) as its Webhook URL, where no webhook is taken (Probot's own default path is
 * /api/github/webhooks too). GitHub shows this answer in the app's delivery log; the server log
 * says it once.
 */
function misdirected(webhookPath: string, log: Pick<Logger, "warn">): Handler {
  let told = false;
  return (req, res) => {
    if (req.method !== "POST" || typeof req.headers["x-github-event"] !== "string") return false;
    const error = `webhooks are taken on ${webhookPath}: set the GitHub App's Webhook URL to https://<this host>${webhookPath}`;
    if (!told) log.warn({ path: req.url?.split("?")[0]?.slice(0, 100) }, error);
    told = true;
    const text = JSON.stringify({ error });
    res
      .writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      .end(text);
    return true;
  };
}

/** Probot's health check route, kept: GET /ping answers PONG. */
function ping(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" || req.url?.split("?")[0] !== "/ping") return false;
  res.writeHead(200, { "content-type": "text/plain", "content-length": 4 }).end("PONG");
  return true;
}

const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);

/**
 * `log`, except that no line holds a webhook payload. @octokit/webhooks attaches the whole event
 * to every handler error (`error.event`), and Probot logs each such error with it, so with
 * LOG_FORMAT=json a failed delivery put its payload in the log (issue 11, class 5); its debug
 * line "Webhook received" holds the event too. Each is logged with the event's id and name only.
 */
export function withoutPayloads(log: Logger): Logger {
  return rewriteLines(log, strip);
}

const DROP = Symbol("drop the line");

/** `log` and its children, each line's first argument passed through `change` (DROP: no line). */
function rewriteLines(log: Logger, change: (first: unknown) => unknown): Logger {
  return new Proxy(log, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      if (key === "child")
        return (...args: unknown[]) =>
          rewriteLines((value as (...a: unknown[]) => Logger).apply(target, args), change);
      if (typeof key === "string" && LEVELS.has(key))
        return (first: unknown, ...rest: unknown[]) => {
          const changed = change(first);
          if (changed !== DROP) (value as (...a: unknown[]) => void).call(target, changed, ...rest);
        };
      return value;
    },
  });
}

function strip(value: unknown): unknown {
  if (value instanceof Error) return hasPayload(value) ? errorWithoutEvent(value) : value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const fields = value as Record<string, unknown>;
  if (!hasPayload(fields) && !(fields.err instanceof Error && hasPayload(fields.err))) return value;
  const copy: Record<string, unknown> = { ...fields };
  if (hasPayload(fields)) copy.event = eventRef(copy.event);
  if (copy.err instanceof Error) copy.err = strip(copy.err);
  return copy;
}

/** Whether `holder.event` is a webhook event (a payload with it), not an event's name. */
function hasPayload(holder: object): boolean {
  const event = (holder as { event?: unknown }).event;
  return typeof event === "object" && event !== null && "payload" in event;
}

function errorWithoutEvent(error: Error): Error {
  const copy = Object.create(Object.getPrototypeOf(error)) as Error & Record<string, unknown>;
  for (const [key, field] of Object.entries(error)) if (key !== "event") copy[key] = field;
  Object.defineProperty(copy, "message", { value: error.message, enumerable: false });
  Object.defineProperty(copy, "stack", { value: error.stack, enumerable: false });
  copy.event = eventRef((error as { event?: unknown }).event);
  return copy;
}

function eventRef(event: unknown): unknown {
  const e = event as { id?: unknown; name?: unknown } | null;
  return typeof e === "object" && e !== null ? { id: e.id, name: e.name } : undefined;
}

/** `app.yml` as shipped with the package, beside `dist/`. */
export const PACKAGED_MANIFEST = fileURLToPath(new URL("../../app.yml", import.meta.url));

/**
 * What refuses setup mode at once: PORT=0, and a working directory without `app.yml` (Probot's
 * setup flow reads the manifest there and writes the credentials to `.env` there; an installed CLI
 * started elsewhere would otherwise fail only when the page is opened). `serve` asks before it
 * creates its database, so a refused start leaves no stray file behind.
 */
export function checkSetupMode(listen: ListenEnv, cwd: string): void {
  // Probot's Server takes `port || 3000`: 0 would silently be 3000.
  if (listen.port === 0)
    throw new Error(
      "PORT=0 (any free port) works once the app is registered; Probot's setup server would take 3000: set PORT to a port number",
    );
  checkManifestHere(cwd);
}

function checkManifestHere(cwd: string): void {
  if (existsSync(join(cwd, "app.yml"))) return;
  throw new Error(
    `setup mode registers the app from app.yml in the working directory, and ${cwd} has none: copy the packaged one (cp ${shellWord(PACKAGED_MANIFEST)} .) and start serve again, or set APP_ID, PRIVATE_KEY_PATH and WEBHOOK_SECRET for an app already registered`,
  );
}
