/**
 * The job key of an event that ends a run (`cancel`, `merged`): once per round, since a person
 * can send an ended run back (`/retry`), and its next cancellation must not find the key taken.
 */
export function endKey(name: "cancel" | "merged", state: { round?: number }): string {
  return state.round ? `${name}/r${state.round}` : name;
}
