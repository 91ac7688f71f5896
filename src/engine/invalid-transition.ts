/** An event that does not fit the run's state: a bug, or a late duplicate to drop. */
export class InvalidTransition extends Error {
  override name = "InvalidTransition";
}
