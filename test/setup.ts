import nock from "nock";
import { afterEach, beforeAll, expect } from "vitest";

// No test may reach the real network: every HTTP exchange goes through nock.
beforeAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, "every nock mock set up by a test must be used").toEqual([]);
});
