/** A criterion's grade, with the weight and floor it was declared with. */
export interface CriterionScore {
  name: string;
  weight: number;
  score: number;
  floor?: number;
}

/**
 * Score = sum(weight x score) / sum(weight). The gate passes when the score reaches the
 * threshold and no criterion is under its floor: a high average cannot hide a failed must-have.
 */
export function weightedVerdict(
  scores: readonly CriterionScore[],
  threshold: number,
): {
  score: number;
  pass: boolean;
  belowFloor: string[];
} {
  const totalWeight = scores.reduce((sum, s) => sum + s.weight, 0);
  const score = totalWeight > 0 ? scores.reduce((sum, s) => sum + s.weight * s.score, 0) / totalWeight : 0;
  const belowFloor = scores.filter((s) => s.floor !== undefined && s.score < s.floor).map((s) => s.name);
  return { score, pass: score >= threshold && belowFloor.length === 0, belowFloor };
}
