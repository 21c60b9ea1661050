/**
 * Netdata's plugins.d word splitter: blanks and '=' separate words (so `SET x = 1` is three
 * words), '…' or "…" quote them.
 */
const SEPARATORS = new Set([' ', '\t', '=']);

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && SEPARATORS.has(line[i]!)) i++;
    if (i >= line.length) break;
    const quote = line[i];
    if (quote === "'" || quote === '"') {
      const end = line.indexOf(quote, i + 1);
      words.push(line.slice(i + 1, end === -1 ? undefined : end));
      i = end === -1 ? line.length : end + 1;
    } else {
      let end = i;
      while (end < line.length && !SEPARATORS.has(line[end]!)) end++;
      words.push(line.slice(i, end));
      i = end;
    }
  }
  return words;
}
