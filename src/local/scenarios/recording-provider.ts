import type { Provider } from "../../providers/provider.js";
import { createRecordedProvider, type Fixtures } from "../../providers/recorded.js";
import type { ObservedAttempt } from "./observe.js";

/** The recorded provider, noting which answers were asked for. */
export function recordingProvider(cassettes: Fixtures, source: string) {
  const inner = createRecordedProvider(cassettes, source);
  const asked = new Set<string>();
  const provider: Provider = {
    name: inner.name,
    modelFor: (tier) => inner.modelFor(tier),
    complete: (request) => {
      const { purpose } = request;
      const what = purpose.kind === "agent" ? "agent" : `judge:${purpose.criterion}`;
      asked.add(`${purpose.phaseId}/${purpose.attempt}/${what}`);
      return inner.complete(request);
    },
  };
  /** Answers recorded for a phase that ran but never asked for: the cassette tells another story. */
  const unused = (all: Fixtures, ran: Map<string, ObservedAttempt[]>): string[] => {
    const lines: string[] = [];
    for (const [id, attempts] of Object.entries(all)) {
      const made = ran.get(id)?.length ?? 0;
      if (made === 0) continue;
      if (attempts.length > made) {
        lines.push(
          `cassettes: ${id} has ${attempts.length} recorded attempts, the run made ${made}: attempt ${made + 1} was never replayed`,
        );
      }
      for (const [index, attempt] of attempts.slice(0, made).entries()) {
        const n = index + 1;
        const names = Object.keys(attempt.judge ?? {}).filter(
          (name) => !asked.has(`${id}/${n}/judge:${name}`),
        );
        if (names.length > 0) {
          const list = names.map((name) => `"${name}"`).join(", ");
          lines.push(`cassettes: ${id} attempt ${n}: the judge was never asked about ${list}`);
        }
      }
    }
    return lines;
  };
  return { provider, unused };
}
