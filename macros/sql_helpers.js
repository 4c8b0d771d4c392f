// Helper modules: every exported function becomes a Handlebars helper, loaded once per process.

/** Lower-cased email without any whitespace (tabs included), or NULL for blanks: {{clean_email "email"}} */
export function clean_email(column) {
  return `nullif(regexp_replace(lower(${column}), '[[:space:]]', '', 'g'), '')`;
}

/** Digits only, for phone numbers in any format: {{digits_only "phone"}} */
export function digits_only(column) {
  return `nullif(regexp_replace(${column}, '[^0-9]', '', 'g'), '')`;
}
