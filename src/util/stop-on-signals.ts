/** What {@link stopOnSignals} needs of the process (`process` itself in `atomic-scrum serve`). */
export interface SignalTarget {
  once: (signal: "SIGTERM" | "SIGINT", listener: () => void) => unknown;
  exit: (code: number) => void;
}

/**
 * Stops `served` on SIGTERM (containers, process managers) and on SIGINT (Ctrl-C): the worker
 * finishes the effect it is on, then the process exits 0, or 1 saying why the stop failed. Each
 * signal is taken once, so a second Ctrl-C while a long effect finishes kills the process at once
 * (Node's default), which the queue's leases make safe. SIGINT is ours to handle: serve does not
 * run Probot's server, whose SIGINT handler used to stop it (and in setup mode none is set).
 */
export function stopOnSignals(
  served: { stop: () => Promise<void> },
  target: SignalTarget,
  err: (line: string) => void,
): void {
  const stop = () => {
    served.stop().then(
      () => target.exit(0),
      (error: unknown) => {
        err(`atomic-scrum serve: ${(error as Error).message}`);
        target.exit(1);
      },
    );
  };
  target.once("SIGTERM", stop);
  target.once("SIGINT", stop);
}
