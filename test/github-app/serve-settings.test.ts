import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { type Served, serve } from "../../src/app.js";
import { readProbotEnv } from "../../src/github/read-probot-env.js";
import { freePort } from "../helpers/free-port.js";
import { privateKey } from "../helpers/probot-server.js";
import { tempDir } from "../helpers/temp.js";
import { SECRET } from "./harness.js";
import { post, sign } from "./webhook-wire.js";

/** Whether anything listens on the port: a server left in setup mode would. */
async function listening(port: number): Promise<boolean> {
  try {
    await post(port, {
      method: "GET",
      path: "/ping",
      headers: { "content-length": 0 },
      body: Buffer.alloc(0),
    });
    return true;
  } catch {
    return false;
  }
}

const GOOD: NodeJS.ProcessEnv = {
  APP_ID: "1",
  PRIVATE_KEY: privateKey,
  WEBHOOK_SECRET: SECRET,
  HOST: "127.0.0.1",
  LOG_LEVEL: "fatal",
};

let served: Served | undefined;
afterEach(async () => {
  await served?.stop();
  served = undefined;
  nock.disableNetConnect();
});

describe("atomic-scrum serve > wrong Probot settings stop it at once, naming the setting", () => {
  const dir = () => {
    const made = tempDir();
    mkdirSync(join(made, "folder"));
    writeFileSync(join(made, "not-a-key.pem"), "hello\n");
    writeFileSync(
      join(made, "broken.pem"),
      "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n",
    );
    return made;
  };
  const ecKey = generateKeyPairSync("ec", {
    namedCurve: "P-256",
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  const cases: [string, Record<string, string | undefined>, RegExp][] = [
    [
      "a PRIVATE_KEY_PATH with no file",
      { PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: "missing.pem" },
      /^PRIVATE_KEY_PATH: cannot read .*missing\.pem \(no such file\)/,
    ],
    [
      "a PRIVATE_KEY_PATH that is a folder",
      { PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: "folder" },
      /^PRIVATE_KEY_PATH: .*it is a folder/,
    ],
    [
      "a PRIVATE_KEY_PATH file that is no PEM",
      { PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: "not-a-key.pem" },
      /^PRIVATE_KEY_PATH is not a PEM private key/,
    ],
    [
      "a PRIVATE_KEY_PATH PEM that holds no key",
      { PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: "broken.pem" },
      /^PRIVATE_KEY_PATH holds a PEM block that is not a usable RSA private key/,
    ],
    [
      "a PRIVATE_KEY that is no PEM",
      { PRIVATE_KEY: "k" },
      /^PRIVATE_KEY is not a PEM private key.*paste the whole \.pem file/,
    ],
    [
      "a PRIVATE_KEY of an EC key",
      { PRIVATE_KEY: ecKey },
      /^PRIVATE_KEY holds a PEM block that is not a usable RSA private key \(a ec key\)/,
    ],
    [
      "a PRIVATE_KEY cut short",
      { PRIVATE_KEY: privateKey.slice(0, 200) },
      /^PRIVATE_KEY is not a PEM private key/,
    ],
    [
      "an APP_ID that is not a number",
      { APP_ID: "my-app" },
      /^APP_ID must be your GitHub App's numeric App ID.*"my-app"/,
    ],
    ["an APP_ID of 0", { APP_ID: "0" }, /^APP_ID must be/],
    ["an APP_ID with a fraction", { APP_ID: "12.5" }, /^APP_ID must be/],
    ["a private key but no APP_ID", { APP_ID: undefined }, /^APP_ID is not set, though a private key is/],
    ["no WEBHOOK_SECRET", { WEBHOOK_SECRET: undefined }, /^WEBHOOK_SECRET is not set/],
    ["a PORT that is not a number", { PORT: "http" }, /^PORT must be a port number/],
    ["a PORT past 65535", { PORT: "70000" }, /^PORT must be a port number/],
    [
      "a GHE_HOST given as a URL",
      { GHE_HOST: "https://ghe.example.com" },
      /^GHE_HOST must be the Enterprise server's host name only/,
    ],
    [
      "a GHE_PROTOCOL of ftp",
      { GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "ftp" },
      /^GHE_PROTOCOL must be https or http/,
    ],
    ["a WEBHOOK_PATH without its slash", { WEBHOOK_PATH: "hooks" }, /^WEBHOOK_PATH must be a URL path/],
  ];
  it.each(cases)("%s", (_name, change, error) => {
    const cwd = dir();
    expect(() => readProbotEnv({ ...GOOD, ...change }, cwd)).toThrow(error);
  });

  it("an APP_ID and no key anywhere (no variable, no .pem file in the working folder)", () => {
    expect(() => readProbotEnv({ ...GOOD, PRIVATE_KEY: undefined }, tempDir())).toThrow(
      /^APP_ID is set but no private key is: set PRIVATE_KEY to the contents of the app's \.pem file, or PRIVATE_KEY_PATH/,
    );
    expect(() => readProbotEnv({ ...GOOD, PRIVATE_KEY: undefined }, dir())).toThrow(
      /several \.pem files \(broken\.pem, not-a-key\.pem\): set PRIVATE_KEY_PATH/,
    );
  });

  it("the key's text is never part of the error", () => {
    const body = privateKey.split("\n")[1] as string;
    const mangled = privateKey.replace(body, `${body.slice(0, 10)}!!!!${body.slice(14)}`);
    let message = "";
    try {
      readProbotEnv({ ...GOOD, PRIVATE_KEY: mangled }, dir());
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^PRIVATE_KEY/);
    expect(message).not.toContain(body.slice(0, 10));
  });

  it("serve with a wrong PRIVATE_KEY_PATH rejects, opens no database and listens on nothing", async () => {
    const port = await freePort();
    const dbPath = join(tempDir(), "store.db");
    await expect(
      serve({
        dbPath,
        env: {
          ...GOOD,
          PRIVATE_KEY: undefined,
          PRIVATE_KEY_PATH: "/nonexistent/app.pem",
          PORT: String(port),
        },
      }),
    ).rejects.toThrow(/^PRIVATE_KEY_PATH: cannot read the private key at \/nonexistent\/app\.pem/);
    nock.enableNetConnect("127.0.0.1");
    expect(await listening(port)).toBe(false);
    expect(existsSync(dbPath)).toBe(false);
  });

  it("serve with a port already taken rejects naming PORT, and leaves the database closed", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        serve({ dbPath: join(tempDir(), "store.db"), env: { ...GOOD, PORT: String(port) } }),
      ).rejects.toThrow(`PORT ${port} is in use on 127.0.0.1: set PORT to a free port`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe("atomic-scrum serve > the forms Probot takes are still taken", () => {
  const base64 = Buffer.from(privateKey).toString("base64");
  it.each([
    ["a PEM", privateKey],
    ["a PEM with \\n escapes, on one line", privateKey.replace(/\n/g, "\\n")],
    ["a PEM pasted on one line with spaces", privateKey.replace(/\n/g, " ")],
    ["the PEM in base64", base64],
  ])("PRIVATE_KEY as %s", (_name, key) => {
    const env = readProbotEnv({ ...GOOD, PRIVATE_KEY: key }, tempDir());
    expect(env).toMatchObject({ mode: "app", appId: 1, privateKey: privateKey.trimEnd().concat("\n") });
  });

  it("PRIVATE_KEY_PATH, relative to the working folder, and a lone .pem file there", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "app.pem"), privateKey);
    const byPath = readProbotEnv({ ...GOOD, PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: "app.pem" }, cwd);
    const lone = readProbotEnv({ ...GOOD, PRIVATE_KEY: undefined }, cwd);
    expect([byPath, lone].map((env) => env.mode === "app" && env.privateKey)).toEqual([
      privateKey,
      privateKey,
    ]);
  });

  it("no APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH is setup mode; GHE_HOST, PORT 0 and WEBHOOK_PATH are read", () => {
    expect(readProbotEnv({ WEBHOOK_SECRET: "s" }, tempDir())).toEqual({ mode: "setup" });
    expect(
      readProbotEnv(
        { ...GOOD, GHE_HOST: "ghe.example.com:8443", PORT: "0", WEBHOOK_PATH: "/hooks" },
        tempDir(),
      ),
    ).toMatchObject({ baseUrl: "https://ghe.example.com:8443/api/v3", port: 0, webhookPath: "/hooks" });
  });

  it("serve on PORT 0 takes a free port, answers /ping, and takes webhooks on WEBHOOK_PATH only", async () => {
    nock.enableNetConnect("127.0.0.1");
    served = await serve({
      dbPath: join(tempDir(), "store.db"),
      env: { ...GOOD, PORT: "0", WEBHOOK_PATH: "/hooks" },
    });
    const port = served.server.port;
    expect(port).toBeGreaterThan(0);
    const ping = await post(port, {
      method: "GET",
      path: "/ping",
      headers: { "content-length": 0 },
      body: Buffer.alloc(0),
    });
    expect(ping).toMatchObject({ status: 200, body: "PONG" });
    const body = Buffer.from(JSON.stringify({ zen: "Keep it logically awesome." }));
    const headers = {
      "content-type": "application/json",
      "content-length": body.length,
      "x-github-event": "ping",
      "x-github-delivery": "ping-1",
      "x-hub-signature-256": sign(body, SECRET),
    };
    expect((await post(port, { path: "/hooks", headers, body })).status).toBe(200);
    expect((await post(port, { path: "/api/github/webhooks", headers, body })).status).toBe(404);
    const forged = { ...headers, "x-hub-signature-256": sign(body, "guess") };
    expect((await post(port, { path: "/hooks", headers: forged, body })).status).toBe(400);
  });
});
