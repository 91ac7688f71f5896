import { TIERS, type Tier } from "../pipeline/schema.js";

/** The next stronger tier, or undefined at the top. */
export function tierAbove(tier: Tier): Tier | undefined {
  return TIERS[TIERS.indexOf(tier) + 1];
}
