import { terminalSafe } from "./terminal-text.js";

/**
 * The width of each column of `rows` (as many as the first row has): its longest cell, as the
 * terminal shows it (a control character prints as a six-character escape, so columns stay
 * aligned around a hostile cell).
 */
export function columnWidths(rows: string[][]): number[] {
  return (
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => terminalSafe(row[column] ?? "").length))) ?? []
  );
}

/** A row's cells padded to `widths`, two spaces apart; a cell past the last width is not padded. */
export function padRow(row: string[], widths: number[]): string {
  return row.map((text, column) => terminalSafe(text).padEnd(widths[column] ?? 0)).join("  ");
}

/**
 * A plain-text table for the terminal, one line per row: every column as wide as its longest
 * cell, two spaces between columns, `indent` before each line and no trailing spaces.
 */
export function textTable(rows: string[][], indent = ""): string[] {
  const widths = columnWidths(rows);
  return rows.map((row) => `${indent}${padRow(row, widths).trimEnd()}`);
}
