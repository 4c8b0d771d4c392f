/**
 * User-facing errors. Everything a user can cause (bad YAML, a missing ref, a failing model)
 * becomes a CdpError with a location and a hint; the CLI prints it without a stack trace
 * and exits with its code. Anything else is a bug and keeps its stack under --debug.
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1; // a model or test failed
export const EXIT_BAD_INPUT = 2; // bad input or configuration

export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
  /** Dotted key path inside a YAML file, e.g. `targets.dev.type`. */
  key?: string;
}

export class CdpError extends Error {
  readonly location?: SourceLocation;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(message: string, opts: { location?: SourceLocation; hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'CdpError';
    this.location = opts.location;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT_BAD_INPUT;
  }
}

/** Several input problems found in one pass, reported together. */
export class CdpErrors extends CdpError {
  readonly errors: CdpError[];
  constructor(errors: CdpError[]) {
    super(`${errors.length} problem${errors.length === 1 ? '' : 's'} found`, { exitCode: Math.max(...errors.map((e) => e.exitCode)) });
    this.errors = errors;
  }
}

export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.line !== undefined && loc.column !== undefined) s += `:${loc.column}`;
  return s;
}

export function formatError(err: CdpError): string {
  if (err instanceof CdpErrors) return err.errors.map(formatError).join('\n');
  const parts: string[] = [];
  const where = err.location ? `${formatLocation(err.location)}: ` : '';
  const key = err.location?.key ? ` (key \`${err.location.key}\`)` : '';
  parts.push(`error: ${where}${err.message}${key}`);
  if (err.hint) parts.push(`  hint: ${err.hint}`);
  return parts.join('\n');
}
