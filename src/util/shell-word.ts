/**
 * A word as a POSIX shell reads it back: left bare when it holds only characters no shell treats
 * specially, else in single quotes (a quote inside becomes `'\''`). For commands the CLI prints
 * for a person to paste.
 */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}
