import { createHmac } from "node:crypto";
import { connect } from "node:net";
import { inspect } from "node:util";
import type { Logger } from "probot";

/** A logger that keeps every call as text, deep: a payload logged anywhere in it shows. */
export function recordingLog(): { log: Logger; text: () => string; lines: string[] } {
  const lines: string[] = [];
  const log: Record<string, unknown> = { level: "trace" };
  for (const level of ["trace", "debug", "info", "warn", "error", "fatal"])
    log[level] = (...args: unknown[]) =>
      lines.push(
        `${level} ${inspect(args, { depth: 12, maxStringLength: Number.POSITIVE_INFINITY, maxArrayLength: Number.POSITIVE_INFINITY, breakLength: Number.POSITIVE_INFINITY })}`,
      );
  log.child = () => log;
  return { log: log as unknown as Logger, text: () => lines.join("\n"), lines };
}

export function sign(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface Answer {
  status: number;
  body: string;
  /** Bytes of the body the client had written (and the socket taken) when the answer came. */
  sent: number;
}

/**
 * POSTs over a raw TCP socket, so a test controls what fetch would not (a Content-Length that
 * lies, a chunked body, one cut short), and `sent` is honest: node:http's client is intercepted
 * by nock, which buffers a body whole. Each write waits for the socket to take it. The server may
 * close while the body is still going: a write error after the answer came is expected.
 */
export function post(
  port: number,
  options: {
    path?: string;
    method?: string;
    headers: Record<string, string | number>;
    /** Sent whole, or `repeat` times; chunked unless the headers give a content-length. */
    body: Buffer;
    repeat?: number;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunked = !Object.keys(options.headers).some((name) => name.toLowerCase() === "content-length");
    const head = Object.entries({
      host: "127.0.0.1",
      ...options.headers,
      ...(chunked ? { "transfer-encoding": "chunked" } : {}),
    })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    let sent = 0;
    let answer: Answer | undefined;
    let received = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const parsed = parseResponse(received);
      if (parsed && !answer) {
        answer = { ...parsed, sent };
        resolve(answer);
        socket.destroy();
      }
    });
    socket.on("error", (error) => {
      if (!answer) reject(error);
    });
    socket.on("close", () => {
      if (!answer) reject(new Error(`connection closed with no answer (${received.length} bytes came)`));
    });
    const write = (data: Buffer | string) =>
      new Promise<void>((done) => {
        if (answer || socket.destroyed) return done();
        const length = typeof data === "string" ? Buffer.byteLength(data) : data.length;
        socket.write(data, () => {
          sent += length;
          done();
        });
      });
    void (async () => {
      await write(
        `${options.method ?? "POST"} ${options.path ?? "/api/github/webhooks"} HTTP/1.1\r\n${head}\r\n`,
      );
      for (let i = 0; i < (options.repeat ?? 1) && !answer && !socket.destroyed; i++) {
        if (chunked) await write(`${options.body.length.toString(16)}\r\n`);
        await write(options.body);
        if (chunked) await write("\r\n");
      }
      if (chunked) await write("0\r\n\r\n");
    })();
  });
}

/** A whole HTTP/1.1 answer with a content-length, or undefined while more is to come. */
function parseResponse(data: Buffer): { status: number; body: string } | undefined {
  const end = data.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const head = data.subarray(0, end).toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (data.length < end + 4 + length) return undefined;
  return { status, body: data.subarray(end + 4, end + 4 + length).toString("utf8") };
}
