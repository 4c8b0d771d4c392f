/**
 * Snowflake stores unquoted identifiers in upper case and compares quoted ones exactly. The
 * core and users' models write plain lower-case names, sometimes quoted through the dialect
 * (`"run_id"`) and sometimes not (`run_id`); for both to mean the same column, a plain
 * lower-case name is sent in its stored, upper-case form (`"RUN_ID"`), which is what the
 * unquoted spelling resolves to. Any other name (mixed case, spaces, quotes) keeps its exact
 * case. Results map back the same way, so the core sees the names it wrote.
 */

const PLAIN_LOWER = /^[a-z_][a-z0-9_$]*$/;
const PLAIN_UPPER = /^[A-Z_][A-Z0-9_$]*$/;

/** The name as Snowflake stores it. */
export function storedName(name: string): string {
  return PLAIN_LOWER.test(name) ? name.toUpperCase() : name;
}

/** A stored name as the core spells it: plain upper-case names are reported in lower case. */
export function reportedName(stored: string): string {
  return PLAIN_UPPER.test(stored) ? stored.toLowerCase() : stored;
}
