export function formatTokens(tokens: number): string {
  return tokens.toLocaleString("en-US");
}

export function formatCost(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return minutes < 60
    ? `${minutes}m ${Math.round((ms % 60_000) / 1000)}s`
    : `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Escapes text for a Markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export { statusSentence, statusWords } from "../engine/status-words.js";
