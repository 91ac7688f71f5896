import type { Forge } from "./forge.js";

/**
 * A forge built on first use: the GitHub forge needs an installation token, which is fetched
 * asynchronously, while the worker asks for a run's forge synchronously. A failed build is not
 * kept, so the next call tries again (a token request that failed once may succeed later).
 */
export function lazyForge(build: () => Promise<Forge>): Forge {
  let pending: Promise<Forge> | undefined;
  const get = (): Promise<Forge> => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
  return {
    prepareBranch: async (input) => (await get()).prepareBranch(input),
    readContext: async (input) => (await get()).readContext(input),
    commit: async (input) => (await get()).commit(input),
    comment: async (input) => (await get()).comment(input),
    updateStatus: async (input) => (await get()).updateStatus(input),
    addLabel: async (input) => (await get()).addLabel(input),
    removeLabel: async (input) => (await get()).removeLabel(input),
    setCheck: async (input) => (await get()).setCheck(input),
    findCheck: async (input) => (await get()).findCheck(input),
    mergePull: async (input) => (await get()).mergePull(input),
    ciStatus: async (input) => (await get()).ciStatus(input),
    approvalsOnHead: async (input) => (await (await get()).approvalsOnHead?.(input)) ?? [],
  };
}
