import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";

export interface Position {
  line: number;
  col: number;
}

/**
 * Finds where a field path sits in the YAML source. A path that does not exist (a missing
 * field) is located at its nearest existing parent, which is where the fix goes.
 */
export function locatePath(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): Position {
  let node: unknown = doc.contents;
  let best = offsetOf(node);
  for (const segment of path) {
    const next = child(node, segment);
    if (next === undefined) break;
    node = next.value;
    best = offsetOf(next.value) ?? next.keyOffset ?? best;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
    const keyOffset = pair && isScalar(pair.key) ? offsetOf(pair.key) : undefined;
    if (keyOffset !== undefined) best = keyOffset;
  }
  return toPosition(lines, best ?? 0);
}

export function toPosition(lines: LineCounter, offset: number): Position {
  const { line, col } = lines.linePos(offset);
  return { line, col };
}

function child(node: unknown, segment: PropertyKey): { value: unknown; keyOffset?: number } | undefined {
  if (isSeq(node) && typeof segment === "number") {
    const value = node.items[segment];
    return value === undefined ? undefined : { value };
  }
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && item.key.value === segment);
    if (!pair) return undefined;
    const keyOffset = isScalar(pair.key) ? offsetOf(pair.key) : undefined;
    return keyOffset === undefined ? { value: pair.value } : { value: pair.value, keyOffset };
  }
  return undefined;
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
