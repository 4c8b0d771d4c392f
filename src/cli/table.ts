/** Renders rows as a plain-text table for the terminal. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

export function formatTable(rows: Record<string, unknown>[], indent = '', maxWidth = 40): string {
  if (rows.length === 0) return `${indent}(no rows)`;
  const cols = Object.keys(rows[0]);
  const cell = (v: unknown) => {
    const s = formatValue(v).replace(/\s+/g, ' ');
    return s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s;
  };
  const body = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => indent + cells.map((s, i) => s.padEnd(widths[i])).join(' | ').trimEnd();
  return [line(cols), indent + widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n');
}
