import { type Context, type Emitter, Liquid, type Template, toValue } from "liquidjs";

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
  ) {
    super(message);
  }
}

/**
 * Templates are Liquid in strict mode: an unknown variable or filter is an error, never an
 * empty string. Includes and layouts are refused, so a template cannot read files.
 */
export const liquid = new Liquid({
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
});

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
  const analysis = liquid.analyzeSync(template);
  const variables: TemplateVariable[] = [];
  for (const uses of Object.values(analysis.globals)) {
    for (const use of uses) {
      const segments = use.segments.map((segment) => String(segment));
      variables.push({ segments, row: use.location.row, col: use.location.col });
    }
  }
  return { template, variables };
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

/** liquidjs says "memory alloc limit exceeded, line:1, col:27"; say which limit, and what to do. */
function explain(error: unknown): TemplateError {
  const message = (error as Error).message;
  const at = /line:(\d+), col:(\d+)/.exec(message);
  const where = at ? ` at line ${at[1]}, col ${at[2]}` : "";
  if (message.includes("template render limit exceeded")) {
    return new TemplateError(
      `the template ran over its render time limit of ${TEMPLATE_LIMITS.renderMs} ms${where}: a loop runs too many times; bound its range`,
      "limit",
    );
  }
  if (message.includes("memory alloc limit exceeded") || message.includes("Invalid string length")) {
    return new TemplateError(
      `the template ran over its memory limit of ${TEMPLATE_LIMITS.memory} characters${where}: a range, loop, capture or string filter grows too large`,
      "limit",
    );
  }
  return new TemplateError(message, "render");
}
