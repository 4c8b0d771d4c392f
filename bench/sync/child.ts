/**
 * Each measured step runs in a fresh Node process, as `cdp sync run` does, so its peak RSS is
 * its own and not the setup's or the previous step's. Results come back over IPC.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export function runChild<T>(script: string, args: string[], execArgv: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(here, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    let result: { ok: true; value: T } | { ok: false; message: string } | undefined;
    child.on('message', (m: typeof result) => {
      result = m;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result?.ok) resolve(result.value);
      else reject(new Error(`${script} ${args.join(' ')} failed (exit ${code ?? signal}): ${result && !result.ok ? result.message : 'no result'}`));
    });
  });
}

/** Runs the body of a child script and sends its result (or its error) to the parent. */
export function childMain<T>(body: () => Promise<T>): void {
  body().then(
    (value) => process.send?.({ ok: true, value }, () => process.exit(0)),
    (err: unknown) => {
      const message = err instanceof Error ? err.stack ?? err.message : String(err);
      process.send?.({ ok: false, message }, () => process.exit(1));
    },
  );
}

export function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
