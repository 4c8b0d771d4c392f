/**
 * Ephemeral models are inlined into their consumers as common table expressions.
 */

export interface Cte {
  name: string;
  sql: string;
}

/** Skips leading whitespace and SQL comments; returns the offset of the first token. */
function firstTokenOffset(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i])) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl === -1 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else return i;
  }
}

/**
 * Prepends CTEs to a query. When the query already opens with WITH, the new CTEs join
 * its list (a second WITH would be a syntax error); WITH RECURSIVE keeps its keyword first.
 */
export function inlineEphemerals(sql: string, ctes: Cte[]): string {
  const defs = ctes.map((c) => `${c.name} as (\n${c.sql.trim().replace(/;\s*$/, '')}\n)`).join(',\n');
  const start = firstTokenOffset(sql);
  const head = /^with(\s+recursive)?\s+/i.exec(sql.slice(start));
  if (head) {
    const at = start + head[0].length;
    return `${sql.slice(0, at)}${defs},\n${sql.slice(at)}`;
  }
  return `${sql.slice(0, start)}with ${defs}\n${sql.slice(start)}`;
}
