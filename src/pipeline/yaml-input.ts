import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
} from "yaml";
import { toPosition } from "./locate.js";
import { formatPath, type Problem } from "./problem.js";
import { MAX_CONFIG_BYTES, sizeProblem } from "./read-input.js";
import { yamlErrorText, yamlSyntaxProblem } from "./yaml-syntax-problem.js";

/**
 * How deeply a document may nest, aliases expanded. A pipeline nests about eight levels, a JSON
 * Schema in an assert a dozen more; past this, something generated the file, and the validators
 * and serialisers that walk it recursively would be the next to fail.
 */
export const MAX_YAML_DEPTH = 64;

/**
 * How many values aliases may add to a document in all, counted with the aliases inside them
 * expanded. A few shared blocks reused across phases add hundreds; an alias bomb (each anchor a
 * list of the previous one) adds billions from a few lines, which every later walk pays for.
 */
export const MAX_ALIAS_EXPANSION = 10_000;

export type YamlInput =
  | { ok: true; doc: Document; lines: LineCounter; value: unknown }
  | { ok: false; problems: Problem[] };

/**
 * Parses outside YAML into plain data. Never throws: syntax errors, duplicate keys, several
 * documents in one file, aliases that name no anchor or their own container, alias bombs and too
 * deep nesting all come back as problems located in `file`. Known YAML 1.1 tags (`!!binary`,
 * `!!set`, `!!timestamp`) are not turned into objects: our files hold strings, numbers, lists and
 * mappings only. A leading byte order mark is ignored. Text past `maxBytes` is refused unread.
 */
export function parseYamlInput(source: string, file: string, maxBytes: number = MAX_CONFIG_BYTES): YamlInput {
  // Text that comes from elsewhere than readInputFile (a repository file fetched from GitHub).
  const tooLarge = sizeProblem(source, file, maxBytes);
  if (tooLarge) return { ok: false, problems: [tooLarge] };
  const text = source.startsWith("\uFEFF") ? source.slice(1) : source;
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: true,
    resolveKnownTags: false,
    // Not a process warning on stderr, mid-output: a mapping used as a key (`prompt: {{ x }}`
    // unquoted) is reported as a located problem by the schema check instead.
    logLevel: "error",
  });
  if (doc.errors.length > 0) return { ok: false, problems: errorProblems(doc.errors, text, lines, file) };
  const structural = checkStructure(doc, lines, file);
  if (structural) return { ok: false, problems: [structural] };
  try {
    // Our own walk above bounds what aliases expand to, with a located message; the library's
    // coarser count (100 uses of one anchor) would refuse files that walk accepted.
    return { ok: true, doc, lines, value: doc.toJS({ maxAliasCount: -1 }) };
  } catch (error) {
    return {
      ok: false,
      problems: [
        { file, line: 1, col: 1, path: "", message: `cannot read the YAML: ${(error as Error).message}` },
      ],
    };
  }
}

/**
 * Duplicate keys are independent mistakes, each reported; a syntax error is reported alone,
 * with a hint, as what follows it is mostly its fallout (yaml-syntax-problem.ts).
 */
function errorProblems(
  errors: readonly YAMLError[],
  text: string,
  lines: LineCounter,
  file: string,
): Problem[] {
  const at = (error: YAMLError) => error.linePos?.[0] ?? { line: 1, col: 1 };
  const deep = errors.find((error) => /call stack/i.test(error.message));
  if (deep) {
    const message = `nested too deeply to read: at most ${MAX_YAML_DEPTH} levels`;
    return [{ file, ...at(deep), path: "", message }];
  }
  if (errors.some((error) => error.code !== "DUPLICATE_KEY"))
    return [yamlSyntaxProblem(errors, text, lines, file)];
  return errors.map((error) => ({
    file,
    ...at(error),
    path: "",
    message: `duplicate key: ${yamlErrorText(error)}`,
  }));
}

interface Frame {
  node: Node;
  path: PropertyKey[];
  depth: number;
  exit: boolean;
}

/**
 * One walk over the parsed nodes, in document order and without recursion (a deep file must not
 * overflow the stack of the code that checks its depth). Anchors are recorded as they are met,
 * which is how YAML resolves an alias: to the last node with that anchor before it. Returns the
 * first problem found, located at the alias or node at fault.
 */
function checkStructure(doc: Document, lines: LineCounter, file: string): Problem | undefined {
  const root = doc.contents as Node | null;
  if (!root) return undefined;
  const anchors = new Map<string, Node>();
  const open = new Set<Node>();
  const size = new Map<Node, number>();
  const height = new Map<Node, number>();
  let added = 0;
  const at = (node: Node, path: PropertyKey[], message: string): Problem => ({
    file,
    ...toPosition(lines, node.range?.[0] ?? 0),
    path: formatPath(path),
    message,
  });
  const stack: Frame[] = [{ node: root, path: [], depth: 0, exit: false }];
  while (stack.length > 0) {
    const { node, path, depth, exit } = stack.pop() as Frame;
    if (exit) {
      open.delete(node);
      const kids = children(node);
      size.set(node, 1 + kids.reduce((sum, kid) => sum + (size.get(kid.node) ?? 1), 0));
      height.set(node, 1 + Math.max(0, ...kids.map((kid) => height.get(kid.node) ?? 0)));
      continue;
    }
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) {
        return at(
          node,
          path,
          `alias *${node.source} names no anchor: define &${node.source} before it, or write the value out`,
        );
      }
      if (open.has(target)) {
        return at(
          node,
          path,
          `alias *${node.source} is inside the value it names (a circular anchor): write the value out`,
        );
      }
      const targetSize = size.get(target) ?? 1;
      const targetHeight = height.get(target) ?? 0;
      added += targetSize;
      if (added > MAX_ALIAS_EXPANSION) {
        return at(
          node,
          path,
          `aliases expand this file by more than ${MAX_ALIAS_EXPANSION} values (an alias bomb?): write the values out, or reuse less`,
        );
      }
      if (depth + targetHeight > MAX_YAML_DEPTH) {
        return at(node, path, `alias *${node.source} nests the file more than ${MAX_YAML_DEPTH} levels deep`);
      }
      size.set(node, targetSize);
      height.set(node, targetHeight);
      continue;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth >= MAX_YAML_DEPTH) {
      // The path down is as long as the nesting: its first steps say where the deep part starts.
      return at(node, path.slice(0, 4), `nested more than ${MAX_YAML_DEPTH} levels deep`);
    }
    open.add(node);
    stack.push({ node, path, depth, exit: true });
    const kids = children(node);
    for (let i = kids.length - 1; i >= 0; i--) {
      const kid = kids[i] as { node: Node; segment: PropertyKey };
      stack.push({ node: kid.node, path: [...path, kid.segment], depth: depth + 1, exit: false });
    }
  }
  return undefined;
}

/** The child nodes of a collection in document order: a mapping's keys and values, a list's items. */
function children(node: Node): { node: Node; segment: PropertyKey }[] {
  const out: { node: Node; segment: PropertyKey }[] = [];
  if (isSeq(node)) {
    node.items.forEach((item, index) => {
      if (item) out.push({ node: item as Node, segment: index });
    });
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const segment = isScalar(pair.key) ? String(pair.key.value) : "?";
      if (pair.key && typeof pair.key === "object") out.push({ node: pair.key as Node, segment });
      if (pair.value && typeof pair.value === "object") out.push({ node: pair.value as Node, segment });
    }
  }
  return out;
}
