/**
 * Secrets are written in config only as `${env:NAME}` references. Resolved values are
 * registered here so that anything we print (errors from drivers included) can be scrubbed.
 */
const secretValues = new Set<string>();

export const SECRET_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function registerSecret(value: string): void {
  // Very short values would redact ordinary words; they are weak secrets anyway.
  if (value.length >= 4) secretValues.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secretValues) out = out.split(secret).join('***');
  return out;
}

/** Names of environment variables referenced by `${env:...}` in a string. */
export function referencedEnvVars(value: string): string[] {
  return [...value.matchAll(SECRET_REF)].map((m) => m[1]);
}
