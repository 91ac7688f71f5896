import { Liquid, type Template } from "liquidjs";

/**
 * Templates are Liquid in strict mode: an unknown variable or filter is an error, never an
 * empty string. Includes and layouts are refused, so a template cannot read files.
 */
export const liquid = new Liquid({
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  relativeReference: false,
  fs: {
    exists: async () => false,
    existsSync: () => false,
    readFile: async () => refuseFiles(),
    readFileSync: () => refuseFiles(),
    resolve: (_root: string, file: string) => file,
  },
});

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

/** Parses a template and lists the global variables it reads; throws on a syntax error. */
export function analyzeTemplate(text: string): { template: Template[]; variables: TemplateVariable[] } {
  const template = liquid.parse(text);
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

/** Renders a template against a context; strict, so a missing value throws. */
export function renderTemplate(text: string, context: Record<string, unknown>): string {
  return liquid.parseAndRenderSync(text, context);
}
