import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { stopOnSignals } from "../../src/util/stop-on-signals.js";

function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const target = {
    once: (signal: "SIGTERM" | "SIGINT", listener: () => void) => emitter.once(signal, listener),
    exit: (code: number) => {
      exits.push(code);
    },
  };
  return { emitter, exits, target };
}

describe("atomic-scrum serve stops on signals", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s: the stop (worker drain) finishes, then exit 0",
    async (signal) => {
      const { emitter, exits, target } = fakeProcess();
      let release!: () => void;
      const stopped: string[] = [];
      const served = {
        stop: () =>
          new Promise<void>((resolve) => {
            stopped.push("draining");
            release = resolve;
          }),
      };
      stopOnSignals(served, target, () => {});
      expect(emitter.emit(signal)).toBe(true);
      expect(stopped).toEqual(["draining"]);
      await Promise.resolve();
      // Not before the worker is done.
      expect(exits).toEqual([]);
      release();
      await new Promise((resolve) => setImmediate(resolve));
      expect(exits).toEqual([0]);
      // Taken once: a second signal falls to Node's default (exit at once).
      expect(emitter.listenerCount(signal)).toBe(0);
    },
  );

  it("a stop that fails exits 1 saying why", async () => {
    const { emitter, exits, target } = fakeProcess();
    const errors: string[] = [];
    stopOnSignals({ stop: () => Promise.reject(new Error("database is locked")) }, target, (line) =>
      errors.push(line),
    );
    emitter.emit("SIGINT");
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual(["atomic-scrum serve: database is locked"]);
    expect(exits).toEqual([1]);
  });
});
