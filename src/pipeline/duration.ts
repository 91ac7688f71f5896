const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h30m" -> 5_400_000. The schema has already checked the shape. */
export function parseDuration(text: string): number {
  let total = 0;
  for (const match of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? "ms"] ?? 1);
  }
  return total;
}
