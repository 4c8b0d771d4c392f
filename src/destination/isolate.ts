/**
 * Some platforms refuse a whole batch (400) for one bad row. Resending the rest, rather than
 * failing every row with its neighbours, lets good rows land in this run instead of being
 * rejected again on every later run alongside the same bad row.
 */

/**
 * A request's verdict on a group of rows; `rejected` maps an index in the group to a reason.
 * - applied: the request took effect, except for the rows it names;
 * - refused: nothing took effect; the rows it names (if any) are at fault.
 */
export type Verdict =
  | { applied: true; rejected: Map<number, string> }
  | { applied: false; rejected: Map<number, string>; message: string };

/**
 * Sends `rows`; when the request is refused, drops the rows it names and sends the others
 * again, or halves the group when it names none, until each bad row is alone. Every step
 * removes a row or halves a group, so this ends. Returns a reason per rejected row.
 */
export async function sendIsolating<T>(rows: T[], attempt: (group: T[]) => Promise<Verdict>): Promise<Map<T, string>> {
  const rejected = new Map<T, string>();
  const queue: T[][] = rows.length ? [rows] : [];
  while (queue.length) {
    const group = queue.shift()!;
    const verdict = await attempt(group);
    const named = new Set<number>();
    for (const [i, reason] of verdict.rejected) {
      if (i >= 0 && i < group.length) {
        rejected.set(group[i], reason);
        named.add(i);
      }
    }
    if (verdict.applied) continue;
    const rest = group.filter((_, i) => !named.has(i));
    if (rest.length === 0) continue;
    if (named.size > 0) queue.push(rest);
    else if (rest.length === 1) rejected.set(rest[0], verdict.message);
    else {
      const mid = Math.ceil(rest.length / 2);
      queue.push(rest.slice(0, mid), rest.slice(mid));
    }
  }
  return rejected;
}
