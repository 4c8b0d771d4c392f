// Helper modules: every exported function becomes a Handlebars helper, loaded once per process.
// A function exported as `<warehouse>__<name>` replaces `<name>` on that warehouse
// (duckdb, postgres, bigquery, snowflake); the plain name is the default.

/** Lower-cased email without any whitespace (tabs included), or NULL for blanks: {{clean_email "email"}} */
export function clean_email(column) {
  return `nullif(regexp_replace(lower(${column}), '[[:space:]]', '', 'g'), '')`;
}

/** Digits only, for phone numbers in any format: {{digits_only "phone"}} */
export function digits_only(column) {
  return `nullif(regexp_replace(${column}, '[^0-9]', '', 'g'), '')`;
}

// BigQuery and Snowflake replace every match by default and take no 'g' flag.
export function bigquery__clean_email(column) {
  return `nullif(regexp_replace(lower(${column}), '[[:space:]]', ''), '')`;
}
export const snowflake__clean_email = bigquery__clean_email;

export function bigquery__digits_only(column) {
  return `nullif(regexp_replace(${column}, '[^0-9]', ''), '')`;
}
export const snowflake__digits_only = bigquery__digits_only;
