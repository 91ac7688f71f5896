import { createHmac, generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { type ApplicationFunction, Probot, ProbotOctokit } from "probot";
import { createWebhookEndpoint } from "../../src/github/webhook-endpoint.js";

export const SECRET = "webhook-secret-for-tests";

// One key per test file: RSA generation is the slowest step of starting a Probot.
export const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

export interface ServedProbot {
  /** POSTs a webhook the way GitHub does, signed with `secret` (the app's own by default). */
  deliver: (
    payload: unknown,
    options?: { id?: string; secret?: string; event?: string },
  ) => Promise<Response>;
  /** Stops the server (the caller closes what else it opened). */
  close: () => Promise<void>;
}

/**
 * A real Probot with `appFn` behind serve's webhook endpoint, on a free port of 127.0.0.1.
 * Probot's retry and throttling plugins are off: an injected 5xx reaches the app at once, and
 * writes are not spaced out by seconds. They are turned off with a function, not an object:
 * Probot puts its own throttle options over object defaults, which would leave throttling on.
 */
export async function serveProbot(
  appFn: ApplicationFunction,
  deliveryPrefix = "delivery",
  client: { Octokit?: typeof ProbotOctokit; retry?: boolean } = {},
): Promise<ServedProbot> {
  // `client` picks the Octokit class (the app's own, say) and keeps plugin-retry on when asked:
  // what GitHub's limits and lost answers do to the app depends on both.
  const probot = new Probot({
    appId: 1,
    privateKey,
    secret: SECRET,
    logLevel: "fatal",
    Octokit: (client.Octokit ?? ProbotOctokit).defaults((instance: Record<string, unknown>) => ({
      ...instance,
      retry: client.retry ? { ...(instance.retry as object) } : { enabled: false },
      throttle: { ...(instance.throttle as object), enabled: false },
    })),
  });
  await probot.load(appFn, { cwd: process.cwd(), addHandler: () => {} });
  // The webhook entry `atomic-scrum serve` uses (signature, event name and payload checks), so
  // every delivery a test makes goes through what production runs.
  const endpoint = createWebhookEndpoint({
    path: "/api/github/webhooks",
    secret: SECRET,
    receive: (delivery) => probot.receive(delivery as Parameters<Probot["receive"]>[0]),
    log: probot.log,
  });
  const server: Server = createServer((req, res) => {
    void endpoint(req, res).then((handled) => handled || res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  nock.enableNetConnect("127.0.0.1");
  const { port } = server.address() as AddressInfo;
  let deliveries = 0;
  return {
    deliver: (payload, options = {}) => {
      const body = JSON.stringify(payload);
      const signature = createHmac("sha256", options.secret ?? SECRET)
        .update(body)
        .digest("hex");
      deliveries += 1;
      return fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": options.event ?? "issues",
          "x-github-delivery": options.id ?? `${deliveryPrefix}-${deliveries}`,
          "x-hub-signature-256": `sha256=${signature}`,
        },
        body,
      });
    },
    close: async () => {
      nock.disableNetConnect();
      // fetch keeps connections alive; without this, close waits for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
