import { type Context, type Emitter, Filter, Liquid, type Template, toValue } from "liquidjs";
import { suggest } from "./template-variables.js";

/**
 * What one render may cost (issue 11, class 1). A prompt is a few KB and renders in milliseconds;
 * these bounds are far above that and far below what blocks `serve`'s event loop for long.
 */
export const TEMPLATE_LIMITS = {
  /** Characters of template text (liquidjs `parseLimit`); larger templates are refused unparsed. */
  maxChars: 100_000,
  /** Wall time of one render in ms (liquidjs `renderLimit`, checked before every block it renders). */
  renderMs: 500,
  /**
   * Characters and items one render may allocate (liquidjs `memoryLimit`): ranges, arrays, string
   * filters and, counted by us, every character written to the output or to a `capture`.
   */
  memory: 4_000_000,
} as const;

/**
 * A template that cannot be rendered: a syntax error, a missing variable, a limit run over, or an
 * untrusted value cut by a filter. Rendering is deterministic, so retrying the same template with
 * the same values cannot help: callers fail the phase with this message instead of retrying.
 */
export class TemplateError extends Error {
  override name = "TemplateError";
  constructor(
    message: string,
    readonly kind: "limit" | "sealed" | "render",
    /** Where in the template text, when known; `reason` is then the message without it. */
    readonly at?: { row: number; col: number },
    readonly reason: string = message,
  ) {
    super(message);
  }
}

/**
 * Templates are Liquid in strict mode: an unknown variable or filter is an error, never an
 * empty string. Includes and layouts are refused, so a template cannot read files.
 */
const LIQUID_OPTIONS = {
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  relativeReference: false,
  parseLimit: TEMPLATE_LIMITS.maxChars,
  renderLimit: TEMPLATE_LIMITS.renderMs,
  memoryLimit: TEMPLATE_LIMITS.memory,
  fs: {
    exists: async () => false,
    existsSync: () => false,
    readFile: async () => refuseFiles(),
    readFileSync: () => refuseFiles(),
    resolve: (_root: string, file: string) => file,
  },
} as const;

export const liquid = new Liquid(LIQUID_OPTIONS);

// liquidjs charges ranges and filters to memoryLimit but not what its emitters collect, so a loop
// or a self-doubling `capture` builds strings of any size within the time limit (V8 ropes make
// that cheap until something flattens them). Every render without a parent emitter (the template
// itself, each `capture`) gets one that charges what it is written.
const renderTemplates = liquid.renderer.renderTemplates.bind(liquid.renderer);
liquid.renderer.renderTemplates = (templates: Template[], ctx: Context, emitter?: Emitter) =>
  renderTemplates(templates, ctx, emitter ?? new CountingEmitter(ctx));

class CountingEmitter implements Emitter {
  buffer = "";
  constructor(private readonly ctx: Context) {}
  write(html: unknown): void {
    const text = stringify(html);
    this.ctx.memoryLimit.use(text.length);
    this.buffer += text;
  }
}

/** As liquidjs's own emitter writes a value: nothing for nil, arrays joined without separator. */
function stringify(value: unknown): string {
  const plain = toValue(value);
  if (typeof plain === "string") return plain;
  if (plain === null || plain === undefined) return "";
  if (Array.isArray(plain)) return plain.map(stringify).join("");
  return String(plain);
}

function refuseFiles(): never {
  throw new Error("templates cannot include files; put the text in the prompt or its file");
}

export interface TemplateVariable {
  /** e.g. ["phases", "requirements", "output"] */
  segments: string[];
  /** 1-based position inside the template text. */
  row: number;
  col: number;
}

/** Parses a template and lists the global variables it reads; throws on a syntax error or an oversized template. */
export function analyzeTemplate(text: string): { template: Template[]; variables: TemplateVariable[] } {
  const template = parse(text);
  return { template, variables: variablesOf(template) };
}

function variablesOf(template: Template[]): TemplateVariable[] {
  const analysis = liquid.analyzeSync(template);
  const variables: TemplateVariable[] = [];
  for (const uses of Object.values(analysis.globals)) {
    for (const use of uses) {
      const segments = use.segments.map((segment) => String(segment));
      variables.push({ segments, row: use.location.row, col: use.location.col });
    }
  }
  return variables;
}

/** A syntax problem of a template: what is wrong, and where in its text. */
export interface TemplateSyntaxProblem {
  reason: string;
  at?: { row: number; col: number };
}

/**
 * {@link analyzeTemplate} for `validate`: never throws. An unknown filter does not stop the
 * analysis (each one is a problem at the filter itself, and the variables are still listed, so
 * the template's other problems are found in the same pass); any other syntax error (an unknown
 * tag, an unclosed tag or output) is the one problem of the template, as liquid stops there.
 */
export function inspectTemplate(text: string): {
  variables: TemplateVariable[];
  syntax: TemplateSyntaxProblem[];
} {
  try {
    return { variables: analyzeTemplate(text).variables, syntax: [] };
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    if (!error.reason.startsWith("undefined filter:")) return { variables: [], syntax: [syntaxOf(error)] };
    let template: Template[];
    try {
      template = lenient.parse(text);
    } catch (again) {
      // Another error after the filter: both are reported, liquid read no further.
      return { variables: [], syntax: [syntaxOf(error), syntaxOf(again as TemplateError)] };
    }
    return { variables: variablesOf(template), syntax: unknownFilters(template, text) };
  }
}

function syntaxOf(error: unknown): TemplateSyntaxProblem {
  const explained = error instanceof TemplateError ? error : explain(error);
  const reason = withSuggestion(explained.reason);
  return explained.at ? { reason, at: explained.at } : { reason };
}

/** liquid's "undefined filter: upcas" and `tag "iff" not found`, with the names it does know. */
function withSuggestion(reason: string): string {
  const filter = /^undefined filter: (\S+)$/.exec(reason);
  if (filter?.[1]) return unknownFilterReason(filter[1]);
  const tag = /^tag "([^"]+)" not found$/.exec(reason);
  if (tag?.[1]) return `unknown tag "${tag[1]}"${suggest(tag[1], Object.keys(liquid.tags), "", 1)}`;
  const block = /^tag (\{%-?\s*(\w+)[\s\S]*%\}) not closed$/.exec(reason);
  if (block?.[2]) return `${block[1]} is never closed: add {% end${block[2]} %} where it ends`;
  const output = /^output ("\{\{[\s\S]*") not closed$/.exec(reason);
  if (output) return `output ${output[1]} is never closed: end it with }}`;
  return reason;
}

function unknownFilterReason(name: string): string {
  return `unknown filter "${name}"${suggest(name, Object.keys(liquid.filters), "", 1)}`;
}

/** Parses filters it does not know instead of refusing them, so they can all be listed. */
const lenient = new Liquid({ ...LIQUID_OPTIONS, strictFilters: false });

/** Every filter of a parsed template that `liquid` does not have, at the filter's name. */
function unknownFilters(template: Template[], text: string): TemplateSyntaxProblem[] {
  const found: TemplateSyntaxProblem[] = [];
  const seen = new Set<object>();
  // Tags keep their values in fields of their own (a branch's condition, a loop's collection):
  // a walk over the parsed objects finds the filters of every kind of tag. The parser's own
  // references (the engine, the tokenizer) are not part of the template.
  const stack: unknown[] = [...template];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== "object" || seen.has(node)) continue;
    seen.add(node);
    if (node instanceof Filter) {
      if (!(node.name in liquid.filters)) {
        const begin = (node as unknown as { token: { begin: number } }).token.begin;
        found.push({ reason: unknownFilterReason(node.name), at: rowCol(text, begin) });
      }
      continue;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key !== "liquid" && key !== "tokenizer" && key !== "token") stack.push(value);
    }
  }
  return found.sort((a, b) => (a.at?.row ?? 0) - (b.at?.row ?? 0) || (a.at?.col ?? 0) - (b.at?.col ?? 0));
}

function rowCol(text: string, offset: number): { row: number; col: number } {
  const before = text.slice(0, offset);
  const row = before.split("\n").length;
  return { row, col: offset - before.lastIndexOf("\n") };
}

/**
 * Renders a template against a context, within TEMPLATE_LIMITS; strict, so a missing value throws.
 * Every failure is a TemplateError that says what ran over and where.
 */
export function renderTemplate(text: string, context: Record<string, unknown>): string {
  const template = parse(text);
  try {
    return liquid.renderSync(template, context);
  } catch (error) {
    throw explain(error);
  }
}

function parse(text: string): Template[] {
  if (text.length > TEMPLATE_LIMITS.maxChars) {
    throw new TemplateError(
      `the template is ${text.length} characters, over the limit of ${TEMPLATE_LIMITS.maxChars}: shorten it or split the phase`,
      "limit",
    );
  }
  try {
    return liquid.parse(text);
  } catch (error) {
    throw explain(error);
  }
}

/**
 * liquidjs says "memory alloc limit exceeded, line:1, col:27"; say which limit, and what to do.
 * The position is kept apart as well (`at`, `reason`), for callers that place it in a file.
 */
function explain(error: unknown): TemplateError {
  const message = (error as Error).message;
  const found = /,? line:(\d+), col:(\d+)/.exec(message);
  const at = found ? { row: Number(found[1]), col: Number(found[2]) } : undefined;
  const where = at ? ` at line ${at.row}, col ${at.col}` : "";
  const limit = (what: string, fix: string) =>
    new TemplateError(`${what}${where}: ${fix}`, "limit", at, `${what}: ${fix}`);
  if (message.includes("template render limit exceeded")) {
    return limit(
      `the template ran over its render time limit of ${TEMPLATE_LIMITS.renderMs} ms`,
      "a loop runs too many times; bound its range",
    );
  }
  if (message.includes("memory alloc limit exceeded") || message.includes("Invalid string length")) {
    return limit(
      `the template ran over its memory limit of ${TEMPLATE_LIMITS.memory} characters`,
      "a range, loop, capture or string filter grows too large",
    );
  }
  return new TemplateError(message, "render", at, found ? message.replace(found[0], "") : message);
}
