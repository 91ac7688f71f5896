/** The width of each column of `rows` (as many as the first row has): its longest cell. */
export function columnWidths(rows: string[][]): number[] {
  return rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
}

/** A row's cells padded to `widths`, two spaces apart; a cell past the last width is not padded. */
export function padRow(row: string[], widths: number[]): string {
  return row.map((text, column) => text.padEnd(widths[column] ?? 0)).join("  ");
}

/**
 * A plain-text table for the terminal, one line per row: every column as wide as its longest
 * cell, two spaces between columns, `indent` before each line and no trailing spaces.
 */
export function textTable(rows: string[][], indent = ""): string[] {
  const widths = columnWidths(rows);
  return rows.map((row) => `${indent}${padRow(row, widths).trimEnd()}`);
}
