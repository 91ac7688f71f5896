import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isGitHubEventName } from "./github-event-names.js";
import { checkPayload } from "./payload-schemas.js";

/**
 * GitHub caps a webhook payload at 25 MB and sends nothing larger ("Webhook payload object"
 * docs), so a bigger body was not sent by GitHub. MiB, so no real payload is ever refused.
 */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;

/**
 * The bodies all deliveries being read may hold together before their signature is checked. A
 * forged body is refused only once read, so without this fifty 25 MB bodies at once would hold
 * 1.25 GB; a delivery whose next chunk would pass it is answered 503 at once. Counted in bytes
 * received, not declared. GitHub's real payloads are mostly under 100 kB, so only a flood reaches it.
 */
export const MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;

/** GitHub waits 10 s for an answer; octokit's middleware answers 202 after 9 s, and so do we. */
export const ANSWER_WITHIN_MS = 9_000;

/** A delivery whose signature matched, its payload parsed and checked: what Probot receives. */
export interface VerifiedDelivery {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

/** The part of a pino logger the endpoint uses (Probot's `app.log` is one). */
export interface EndpointLog {
  info: (fields: Record<string, unknown>, message: string) => void;
  warn: (fields: Record<string, unknown>, message: string) => void;
  error: (fields: Record<string, unknown>, message: string) => void;
}

export interface WebhookEndpointOptions {
  /** The URL path GitHub posts to (Probot's WEBHOOK_PATH, `/api/github/webhooks` by default). */
  path: string;
  /** The app's webhook secret (WEBHOOK_SECRET). */
  secret: string;
  /** Dispatches a verified delivery to the app (`probot.receive`). */
  receive: (delivery: VerifiedDelivery) => Promise<void>;
  log: EndpointLog;
  maxBodyBytes?: number;
  maxInflightBytes?: number;
  answerWithinMs?: number;
}

/** A request handler: true when it answered the request, false when the path is not its own. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Why a delivery was refused: the status, the reason sent back, and whether its body is unread. */
interface Refusal {
  status: number;
  error: string;
  /** The body was not read to its end: close the connection rather than read the rest. */
  unread?: boolean;
}

interface Head {
  event: string;
  delivery: string;
  signature: Buffer;
  /** Content-Length, when the request has one (a chunked body has not). */
  length?: number;
}

/**
 * The webhook path of `atomic-scrum serve` (issue 11, classes 5 and 6). Unlike Probot's
 * middleware, which buffers any body whole, checks the signature, and logs a refused delivery
 * with its payload, it refuses by the headers what it can (method, type, event name, delivery
 * id, signature's form, declared size), reads at most `maxBodyBytes` within a shared budget,
 * checks the HMAC over the raw bytes before parsing anything, checks the fields the handlers use,
 * and only then hands the delivery to Probot. A refusal answers 4xx/503 with a reason of its own
 * (never an exception's text) and logs only method, path, size, event name and delivery id.
 */
export function createWebhookEndpoint(options: WebhookEndpointOptions): RequestHandler {
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const budget = createBudget(options.maxInflightBytes ?? MAX_INFLIGHT_BYTES);
  const path = trimSlashes(options.path);
  const secret = options.secret;
  return async (req, res) => {
    if (pathOf(req.url) !== path) return false;
    const seen = { method: req.method ?? "?", path, event: clean(req.headers["x-github-event"]) };
    const answer = (
      status: number,
      body: string | { error: string },
      fields: Record<string, unknown>,
      refusal?: Refusal,
    ) => {
      const level = status >= 500 && status !== 503 ? "error" : refusal ? "warn" : "info";
      options.log[level]({ ...seen, ...fields, status }, refusal ? "webhook refused" : "webhook answered");
      send(req, res, status, body, refusal?.unread === true);
      return true;
    };
    const refuse = (refusal: Refusal, fields: Record<string, unknown> = {}) =>
      answer(refusal.status, { error: refusal.error }, { reason: refusal.error, ...fields }, refusal);

    const head = readHead(req, maxBody);
    const delivery = clean(req.headers["x-github-delivery"]);
    if ("status" in head) return refuse(head, { delivery, bytes: clean(req.headers["content-length"]) });
    const hold = budget.hold();
    res.once("close", hold);
    // Bytes are taken as they arrive, never as declared: a declared Content-Length costs the
    // sender nothing, so taking it up front let three connections that declared 25 MiB and sent
    // no byte answer every real delivery 503 until their request timeout.
    const body = await readBody(req, maxBody, hold);
    if ("status" in body) return refuse(body, { delivery, bytes: body.bytes });
    const fields = { delivery, bytes: body.data.length };
    if (!signatureMatches(secret, body.data, head.signature))
      return refuse(
        { status: 400, error: "x-hub-signature-256 does not match the body and WEBHOOK_SECRET" },
        fields,
      );
    const payload = parseObject(body.data);
    if (payload === undefined) return refuse({ status: 400, error: "the body is not a JSON object" }, fields);
    const checked = checkPayload(head.event, payload);
    if (checked.kind === "invalid") {
      const error = `the ${checked.key} payload lacks what the app needs: ${checked.problems.join("; ")}`;
      return refuse({ status: 400, error }, fields);
    }
    if (checked.kind === "ignored") return answer(200, "ignored\n", fields);
    const outcome = await dispatch(options, { id: head.delivery, name: head.event, payload });
    if (outcome === "timeout") return answer(202, "still processing\n", fields);
    if (outcome === "ok") return answer(200, "ok\n", fields);
    options.log.error(
      { ...fields, event: head.event, error: describe(outcome.error) },
      "webhook handler failed",
    );
    // The handler's own message may name internals: the sender only learns where to look.
    return answer(500, { error: `delivery ${head.delivery} failed; the server log says why` }, fields);
  };
}

/** Everything that can be refused before a byte of the body is read. */
function readHead(req: IncomingMessage, maxBody: number): Head | Refusal {
  if (req.method !== "POST") return { status: 405, error: "webhooks are POSTed", unread: true };
  const type = req.headers["content-type"];
  if (typeof type !== "string" || !/^\s*application\/json\s*(;|$)/i.test(type))
    return { status: 415, error: 'content-type must be "application/json"', unread: true };
  const event = req.headers["x-github-event"];
  if (typeof event !== "string" || !isGitHubEventName(event))
    return { status: 400, error: "x-github-event is missing or not a GitHub webhook event", unread: true };
  // GitHub's delivery ids are GUIDs; the id is logged and stored, so only a plain token is taken.
  const delivery = req.headers["x-github-delivery"];
  if (typeof delivery !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/.test(delivery))
    return { status: 400, error: "x-github-delivery is missing or malformed", unread: true };
  const signature = req.headers["x-hub-signature-256"];
  const hex = typeof signature === "string" ? /^sha256=([0-9a-f]{64})$/i.exec(signature)?.[1] : undefined;
  // Only SHA-256: the SHA-1 `x-hub-signature` GitHub also sends is no longer a safe MAC to rely on.
  if (hex === undefined)
    return {
      status: 400,
      error: "x-hub-signature-256 is missing or not sha256=<64 hex digits>",
      unread: true,
    };
  const declared = req.headers["content-length"];
  if (declared === undefined) return { event, delivery, signature: Buffer.from(hex, "hex") };
  if (!/^\d{1,16}$/.test(declared))
    return { status: 400, error: "content-length is malformed", unread: true };
  const length = Number(declared);
  if (length > maxBody) return tooLarge(maxBody);
  return { event, delivery, signature: Buffer.from(hex, "hex"), length };
}

function busy(): Refusal {
  return { status: 503, error: "too many webhook bytes in flight; try again", unread: true };
}

function tooLarge(maxBody: number): Refusal {
  return { status: 413, error: `the body is over ${maxBody} bytes, more than GitHub sends`, unread: true };
}

/**
 * Reads the body, at most `maxBody` bytes and within the shared budget, chunked or not. Stops at
 * the first byte too many: the rest is never read (the connection is closed after the answer).
 */
function readBody(
  req: IncomingMessage,
  maxBody: number,
  hold: { take: (bytes: number) => boolean },
): Promise<{ data: Buffer } | (Refusal & { bytes: number })> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const stop = (refusal: Refusal) => {
      req.off("data", onData);
      req.pause();
      chunks.length = 0;
      resolve({ ...refusal, bytes });
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBody) return stop(tooLarge(maxBody));
      if (!hold.take(chunk.length)) return stop(busy());
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve({ data: Buffer.concat(chunks, bytes) }));
    // A client that goes away mid-body: there is nobody to answer, and nothing is kept. (After
    // `end`, `close` changes nothing: the promise is settled.)
    const early = () => stop({ status: 400, error: "the body ended early", unread: true });
    req.once("close", early);
    req.once("error", early);
  });
}

/**
 * The bytes the deliveries being read hold together. Each request takes from it per chunk and
 * gives all back once answered, so a flood of large forged bodies is refused, not held.
 */
function createBudget(max: number) {
  let used = 0;
  return {
    hold: () => {
      let mine = 0;
      const release = () => {
        used -= mine;
        mine = 0;
      };
      return Object.assign(release, {
        take: (bytes: number) => {
          if (used + bytes > max) return false;
          used += bytes;
          mine += bytes;
          return true;
        },
      });
    },
  };
}

function signatureMatches(secret: string, body: Buffer, signature: Buffer): boolean {
  const expected = createHmac("sha256", secret).update(body).digest();
  return expected.length === signature.length && timingSafeEqual(expected, signature);
}

function parseObject(data: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

async function dispatch(
  options: WebhookEndpointOptions,
  delivery: VerifiedDelivery,
): Promise<"ok" | "timeout" | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.answerWithinMs ?? ANSWER_WITHIN_MS);
  });
  const received = options.receive(delivery).then(
    () => "ok" as const,
    (error: unknown) => ({ error }),
  );
  try {
    return await Promise.race([received, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An error for the log without what @octokit/webhooks attaches to it: each handler error and
 * their AggregateError carry the whole event (`error.event`), payload included.
 */
function describe(error: unknown): Record<string, unknown> {
  const errors = error instanceof AggregateError ? error.errors : [error];
  return {
    messages: errors.map((e) => (e instanceof Error ? e.message : String(e))),
    stack: errors[0] instanceof Error ? errors[0].stack : undefined,
  };
}

/**
 * How long a refused request's connection is kept after the answer, its further body read and
 * dropped (never kept). Closing at once made clients still sending get a reset before they read
 * the answer (EPIPE in the bench); a client that reads it stops sending, and one that does not is
 * cut off after this.
 */
const LINGER_MS = 2_000;

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string | { error: string },
  unread: boolean,
): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain" : "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
  if (!unread) return;
  const socket = req.socket;
  // No `connection: close` header: with it, Node destroys the socket the moment the answer is
  // written, while the client is still sending. The rest of the body is drained instead (read
  // and dropped, as Node drains any unread body), for LINGER_MS at most.
  req.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

/** A header value fit for a log line: printable token characters only, at most 64 of them. */
function clean(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(",") : value;
  return text.replace(/[^A-Za-z0-9._:-]/g, "?").slice(0, 64);
}

function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const end = url.search(/[?#]/);
  return trimSlashes(end === -1 ? url : url.slice(0, end));
}

function trimSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}
