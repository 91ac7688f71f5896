import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildGitHubApp } from "../../src/app.js";
import { type AppServer, startAppServer } from "../../src/github/app-server.js";
import {
  createWebhookEndpoint,
  MAX_BODY_BYTES,
  type VerifiedDelivery,
} from "../../src/github/webhook-endpoint.js";
import { type Database, openDatabase } from "../../src/store/database.js";
import { listRuns } from "../../src/store/runs.js";
import { example } from "../github-e2e/payloads.js";
import { privateKey } from "../helpers/probot-server.js";
import { labeledPayload, SECRET } from "./harness.js";
import { type Answer, post, recordingLog, sign } from "./webhook-wire.js";

/** A string that would show in the log if any part of a refused body were logged. */
const MARKER = "FORGED-BODY-MARKER-7f3a";

let dir: string;
let db: Database;
let app: AppServer;
const recorded = recordingLog();

beforeAll(async () => {
  nock.enableNetConnect("127.0.0.1");
  dir = mkdtempSync(join(tmpdir(), "atomic-scrum-webhook-"));
  db = openDatabase(join(dir, "store.db"));
  const parts = buildGitHubApp({ db, appId: 1 });
  app = await startAppServer({
    appFn: parts.appFn,
    env: {
      appId: 1,
      privateKey,
      secret: SECRET,
      baseUrl: "https://api.github.com",
      host: "127.0.0.1",
      port: 0,
      webhookPath: "/api/github/webhooks",
    },
    rawEnv: {},
    log: recorded.log,
  });
});

afterAll(async () => {
  await app.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  nock.disableNetConnect();
});

beforeEach(() => {
  recorded.lines.length = 0;
});

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

function headers(body: Buffer, change: Record<string, string | undefined> = {}): Record<string, string> {
  const all: Record<string, string | undefined> = {
    "content-type": "application/json",
    "x-github-event": "issues",
    "x-github-delivery": "d-1",
    "x-hub-signature-256": sign(body, SECRET),
    ...change,
  };
  return Object.fromEntries(
    Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function deliver(body: Buffer, change: Record<string, string | undefined> = {}): Promise<Answer> {
  return post(app.port, { headers: { ...headers(body, change), "content-length": body.length }, body });
}

/** A labeled payload padded to about `bytes` with the marker, so its body is large and findable. */
function paddedPayload(bytes: number): Buffer {
  return json({ ...labeledPayload(), padding: MARKER.repeat(Math.ceil(bytes / MARKER.length)) });
}

/** What every refusal must be: its status, our own reason, no internals, nothing of the body logged. */
function expectRefused(answer: Answer, status: number, reason: RegExp) {
  expect({ status: answer.status, body: answer.body }).toMatchObject({
    status,
    body: expect.stringMatching(reason),
  });
  expect(answer.body).not.toMatch(
    /Cannot read|is not a function|Unexpected token|at .*\.js:\d+|AggregateError/,
  );
  expect(recorded.text()).not.toContain(MARKER);
  expect(recorded.text()).toContain("webhook refused");
}

describe("webhook endpoint > body size", () => {
  it("refuses a declared Content-Length over 25 MiB at once, before the body is sent", async () => {
    const chunk = Buffer.alloc(64 * 1024, "a");
    const declared = MAX_BODY_BYTES + 1;
    const answer = await post(app.port, {
      headers: { ...headers(chunk), "content-length": declared },
      body: chunk,
      repeat: Math.ceil(declared / chunk.length),
    });
    expectRefused(answer, 413, /over 26214400 bytes/);
    // The answer came while the client had handed over a fraction of the body.
    expect(answer.sent).toBeLessThan(declared / 2);
  });

  it("refuses a 30 MB body, validly signed, sent whole with its length", async () => {
    const body = paddedPayload(30_000_000);
    const answer = await deliver(body);
    expectRefused(answer, 413, /over 26214400 bytes/);
    expect(recorded.text().length).toBeLessThan(4_000);
  });

  it("refuses a chunked body once it passes 25 MiB, and reads no further", async () => {
    const chunk = Buffer.alloc(64 * 1024, MARKER);
    // 60 MB: what the client got into the socket when the answer came is far short of it.
    const chunks = Math.ceil(60_000_000 / chunk.length);
    const answer = await post(app.port, { headers: headers(chunk), body: chunk, repeat: chunks });
    expectRefused(answer, 413, /over 26214400 bytes/);
    expect(answer.sent).toBeLessThan(40_000_000);
  });

  it("takes a 2 MB body (a large valid delivery is not refused for its size)", async () => {
    const body = json({ ...example("issues", "opened"), padding: "x".repeat(2_000_000) });
    const answer = await deliver(body);
    expect(answer).toMatchObject({ status: 200, body: "ignored\n" });
  });
});

describe("webhook endpoint > a body of exactly 25 MiB", () => {
  /** A signed, ignored delivery of exactly `bytes` bytes. */
  function exactly(bytes: number): Buffer {
    const base = json({ ...example("issues", "opened"), padding: "" });
    const body = json({ ...example("issues", "opened"), padding: "x".repeat(bytes - base.length) });
    expect(body.length).toBe(bytes);
    return body;
  }

  it("is taken, declared or chunked; one byte more is refused", async () => {
    const body = exactly(MAX_BODY_BYTES);
    expect(await deliver(body)).toMatchObject({ status: 200, body: "ignored\n" });
    expect(await post(app.port, { headers: headers(body), body })).toMatchObject({ status: 200 });
    const over = exactly(MAX_BODY_BYTES + 1);
    expect((await deliver(over)).status).toBe(413);
    expect((await post(app.port, { headers: headers(over), body: over })).status).toBe(413);
  });
});

describe("webhook endpoint > signature, checked before anything of the body is parsed or logged", () => {
  const body = paddedPayload(5_000_000);
  const variants: [string, Record<string, string | undefined>][] = [
    ["signed with another secret", { "x-hub-signature-256": sign(body, "not-the-secret") }],
    ["signed over another body", { "x-hub-signature-256": sign("{}", SECRET) }],
    ["a signature of the right form but all zeros", { "x-hub-signature-256": `sha256=${"0".repeat(64)}` }],
    ["a truncated signature", { "x-hub-signature-256": sign(body, SECRET).slice(0, 40) }],
    ["not hex", { "x-hub-signature-256": `sha256=${"z".repeat(64)}` }],
    ["no signature at all", { "x-hub-signature-256": undefined }],
    [
      "only the SHA-1 x-hub-signature",
      {
        "x-hub-signature-256": undefined,
        "x-hub-signature": "sha1=0123456789abcdef0123456789abcdef01234567",
      },
    ],
  ];
  it.each(variants)(
    "a 5 MB body %s is refused with 400 and nothing of it is logged",
    async (_name, change) => {
      const answer = await deliver(body, change);
      expectRefused(answer, 400, /x-hub-signature-256/);
      // One line per refusal, of a few hundred bytes: not the 5 MB that came in.
      expect(recorded.text().length).toBeLessThan(2_000);
      expect(listRuns(db)).toEqual([]);
    },
  );
});

describe("webhook endpoint > a signed body that is not a JSON object", () => {
  it.each([
    ["not JSON", "this is not json"],
    ["truncated JSON", JSON.stringify(labeledPayload()).slice(0, 500)],
    ["a JSON array", "[1,2,3]"],
    ["JSON null", "null"],
    ["a JSON string", '"issues"'],
  ])("%s is refused with 400, without the parser's message", async (_name, text) => {
    const answer = await deliver(Buffer.from(text));
    expectRefused(answer, 400, /not a JSON object/);
  });
});

describe("webhook endpoint > headers", () => {
  const body = json(labeledPayload());
  it.each([
    "__proto__",
    "constructor",
    "error",
    "*",
    "toString",
    "hasOwnProperty",
    "issues.labeled",
    "Issues",
    "x",
  ])("x-github-event %j, validly signed, is refused with 400 and dispatches nothing", async (event) => {
    const answer = await deliver(body, { "x-github-event": event });
    expectRefused(answer, 400, /x-github-event/);
    expect(listRuns(db)).toEqual([]);
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["with spaces and braces", "a b{c}"],
    ["too long", "a".repeat(200)],
  ])("x-github-delivery %s is refused with 400", async (_name, id) => {
    const answer = await deliver(body, { "x-github-delivery": id });
    expectRefused(answer, 400, /x-github-delivery/);
  });

  it("a GET, or a body that is not JSON by its type, is refused (405, 415)", async () => {
    const get = await post(app.port, {
      method: "GET",
      headers: { "content-length": 0 },
      body: Buffer.alloc(0),
    });
    expect(get.status).toBe(405);
    const form = await deliver(body, { "content-type": "application/x-www-form-urlencoded" });
    expectRefused(form, 415, /content-type/);
  });

  it("a refusal's log line holds the method, path, size and cleaned event name and id only", async () => {
    await deliver(paddedPayload(10_000), {
      "x-github-delivery": "evil id;{drop}",
      "x-hub-signature-256": undefined,
    });
    const line = recorded.lines.find((l) => l.includes("webhook refused")) ?? "";
    expect(line).toContain("method: 'POST'");
    expect(line).toContain("path: '/api/github/webhooks'");
    expect(line).toContain("event: 'issues'");
    expect(line).not.toContain("evil id");
    expect(line.length).toBeLessThan(600);
  });
});

/** Each event the app handles, as GitHub sends it (the examples; issues.closed has none, so it is made from labeled). */
function handledPayloads(): [string, string, Record<string, unknown>][] {
  const closed = { ...labeledPayload(), action: "closed" } as Record<string, unknown>;
  delete closed.label;
  return [
    ["issues", "labeled", labeledPayload({ sender: { login: "someone" } })],
    ["issues", "closed", closed],
    ["issue_comment", "created", example("issue_comment", "created")],
    ["pull_request", "closed", example("pull_request", "closed")],
    ["pull_request", "synchronize", example("pull_request", "synchronize")],
    ["pull_request_review", "submitted", example("pull_request_review", "submitted")],
    ["pull_request_review", "dismissed", example("pull_request_review", "dismissed")],
    ["check_suite", "completed", example("check_suite", "completed")],
  ];
}

/** Takes out (or replaces) the field at `path`. */
function without(payload: Record<string, unknown>, path: string[], value?: unknown): Record<string, unknown> {
  const copy = structuredClone(payload);
  let at = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

const MAIN_OBJECT: Record<string, string[][]> = {
  issues: [["issue"], ["issue", "number"]],
  issue_comment: [["issue"], ["comment"], ["comment", "id"]],
  pull_request: [["pull_request"], ["pull_request", "head"]],
  pull_request_review: [["pull_request"], ["review"], ["review", "id"]],
  check_suite: [["check_suite"], ["check_suite", "head_sha"]],
};

describe("webhook endpoint > a validly signed payload missing what the handlers use", () => {
  const cases = handledPayloads().flatMap(([event, action, payload]) =>
    [
      ["repository"],
      ["repository", "owner"],
      ["repository", "owner", "login"],
      ["sender"],
      ...(MAIN_OBJECT[event] ?? []),
    ].map((path) => [`${event}.${action}`, path.join("."), event, without(payload, path)] as const),
  );
  it.each(cases)(
    "%s without %s is refused with 400 naming the field",
    async (_key, field, event, payload) => {
      const answer = await deliver(json(payload), {
        "x-github-event": event,
        "x-github-delivery": `missing-${field}`,
      });
      expectRefused(answer, 400, new RegExp(`lacks what the app needs: .*${field.replace(/\./g, "\\.")}`));
      expect(listRuns(db)).toEqual([]);
    },
  );

  it.each(handledPayloads())(
    "%s.%s with an installation id that is not a number is refused",
    async (event, _a, payload) => {
      const answer = await deliver(json(without(payload, ["installation"], { id: "4242" })), {
        "x-github-event": event,
      });
      expectRefused(answer, 400, /installation\.id/);
    },
  );

  it("an event or action the app does not handle is answered 200 without dispatch, whatever its fields", async () => {
    const answer = await deliver(json({ action: "opened", nothing: true }));
    expect(answer).toMatchObject({ status: 200, body: "ignored\n" });
    expect((await deliver(json({ zen: "hi" }), { "x-github-event": "ping" })).status).toBe(200);
  });

  it("a whole, signed delivery still reaches the app", async () => {
    // A bot's label: the app takes it and ignores it, without calling GitHub.
    const payload = labeledPayload({ sender: { login: "other[bot]", type: "Bot" } });
    const answer = await deliver(json(payload), { "x-github-delivery": "whole-1" });
    expect(answer).toMatchObject({ status: 200, body: "ok\n" });
    expect(recorded.text()).toContain("webhook answered");
  });
});

describe("webhook endpoint > a handler that fails", () => {
  it("answers 500 naming the delivery, not the error, and logs the error without the payload", async () => {
    // The installation token is refused: the labeled handler throws on its first request.
    nock("https://api.github.com")
      .post("/app/installations/4242/access_tokens")
      .reply(401, { message: "Bad credentials SECRET-DETAIL" });
    const payload = { ...labeledPayload({ sender: { login: "someone" } }), padding: MARKER };
    const answer = await deliver(json(payload), { "x-github-delivery": "fails-1" });
    expect(answer.status).toBe(500);
    expect(answer.body).toBe('{"error":"delivery fails-1 failed; the server log says why"}');
    const ours = recorded.lines.filter((l) => l.includes("webhook handler failed")).join("\n");
    expect(ours).toContain("SECRET-DETAIL");
    // No line at all holds the payload: Probot logs each handler error with the event attached.
    expect(recorded.text()).not.toContain(MARKER);
    expect(recorded.text()).toContain("fails-1");
  });
});

describe("webhook endpoint > limits of its own", () => {
  async function endpointServer(options: {
    maxInflightBytes?: number;
    answerWithinMs?: number;
    receive?: (delivery: VerifiedDelivery) => Promise<void>;
  }) {
    const received: VerifiedDelivery[] = [];
    const log = recordingLog();
    const handler = createWebhookEndpoint({
      path: "/hooks/",
      secret: SECRET,
      log: { info: log.log.info, warn: log.log.warn, error: log.log.error } as never,
      receive: options.receive ?? (async (delivery) => void received.push(delivery)),
      ...options,
    });
    const server: Server = createServer((req, res) => {
      void handler(req, res).then((handled) => handled || res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      port,
      received,
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  it("past the bytes in flight, a delivery is answered 503 at once; once the holder goes, it is taken", async () => {
    const served = await endpointServer({ maxInflightBytes: 1_000_000 });
    try {
      const body = json({ ...example("issues", "opened"), padding: "x".repeat(700_000) });
      const request = { path: "/hooks", headers: { ...headers(body), "content-length": body.length }, body };
      // The first delivery sends all of its body but the last byte: its 700 kB are held.
      const slow = connect(served.port, "127.0.0.1");
      await new Promise<void>((resolve) => slow.once("connect", resolve));
      const head = Object.entries(request.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      slow.write(`POST /hooks HTTP/1.1\r\nhost: 127.0.0.1\r\n${head}\r\n`);
      slow.write(body.subarray(0, body.length - 1));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = await post(served.port, request);
      expect(second.status).toBe(503);
      expect(second.body).toMatch(/in flight/);
      // The slow client goes away: its bytes are given back, and the same delivery is taken.
      slow.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await post(served.port, request)).status).toBe(200);
    } finally {
      await served.close();
    }
  });

  it("connections that declare big bodies and send nothing do not shut real deliveries out", async () => {
    const served = await endpointServer({ maxInflightBytes: 1_000_000 });
    const idle: ReturnType<typeof connect>[] = [];
    try {
      const body = json({ ...example("issues", "opened"), padding: "x".repeat(100_000) });
      const request = { path: "/hooks", headers: { ...headers(body), "content-length": body.length }, body };
      // Each declares 900 kB (within the body cap) and sends no byte of it: a declaration is free.
      for (let n = 0; n < 3; n++) {
        const socket = connect(served.port, "127.0.0.1");
        await new Promise<void>((resolve) => socket.once("connect", resolve));
        const head = Object.entries({ ...request.headers, "content-length": 900_000 })
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("");
        socket.write(`POST /hooks HTTP/1.1\r\nhost: 127.0.0.1\r\n${head}\r\n`);
        idle.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await post(served.port, request)).status).toBe(200);
    } finally {
      for (const socket of idle) socket.destroy();
      await served.close();
    }
  });

  it("a handler slower than GitHub waits is answered 202, and still runs to its end", async () => {
    let finished = false;
    const served = await endpointServer({
      answerWithinMs: 100,
      receive: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished = true;
      },
    });
    try {
      const body = json(labeledPayload({ sender: { login: "someone" } }));
      const answer = await post(served.port, {
        path: "/hooks",
        headers: { ...headers(body), "content-length": body.length },
        body,
      });
      expect(answer).toMatchObject({ status: 202, body: "still processing\n" });
      expect(finished).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(finished).toBe(true);
    } finally {
      await served.close();
    }
  });

  it("a verified delivery is handed over with its id, event name and parsed payload", async () => {
    const served = await endpointServer({});
    try {
      const payload = labeledPayload({ sender: { login: "someone" } });
      const body = json(payload);
      const answer = await post(served.port, {
        path: "/hooks?x=1",
        headers: { ...headers(body, { "x-github-delivery": "id-9" }), "content-length": body.length },
        body,
      });
      expect(answer.status).toBe(200);
      expect(served.received).toEqual([{ id: "id-9", name: "issues", payload }]);
    } finally {
      await served.close();
    }
  });
});
