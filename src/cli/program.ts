/**
 * The `cdp` command line. Thin: parses flags, calls the core, renders output.
 */
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { CdpError, EXIT_BAD_INPUT, EXIT_FAILURE, formatError } from '../errors.js';
import { redact } from '../project/secrets.js';

/**
 * Command modules load on first use: `cdp compile` then never loads the runner, sync or
 * identity code (and their dependencies), which is a large share of a small compile's time.
 */
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): M[K] {
  return (async (...args: unknown[]) => ((await load())[name] as (...a: unknown[]) => unknown)(...args)) as M[K];
}
const commands = () => import('./commands.js');
const syncCommands = () => import('./sync-commands.js');
const identityCommands = () => import('./identity-commands.js');
const commandCompile = lazy(commands, 'commandCompile');
const commandDebug = lazy(commands, 'commandDebug');
const commandDryRun = lazy(commands, 'commandDryRun');
const commandGenerate = lazy(commands, 'commandGenerate');
const commandInit = lazy(commands, 'commandInit');
const commandLs = lazy(commands, 'commandLs');
const commandRun = lazy(commands, 'commandRun');
const commandServe = lazy(syncCommands, 'commandServe');
const commandSyncLs = lazy(syncCommands, 'commandSyncLs');
const commandSyncRun = lazy(syncCommands, 'commandSyncRun');
const commandSyncStatus = lazy(syncCommands, 'commandSyncStatus');
const commandIdentityEvaluate = lazy(identityCommands, 'commandIdentityEvaluate');
const commandIdentityExplain = lazy(identityCommands, 'commandIdentityExplain');
const commandIdentityStats = lazy(identityCommands, 'commandIdentityStats');

export interface GlobalOptions {
  projectDir: string;
  target?: string;
  select?: string[];
  exclude?: string[];
  threads?: number;
  json?: boolean;
  debug?: boolean;
  vars?: Record<string, unknown>;
  fullRefresh?: boolean;
}

function parseVars(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    // Loaded only when --vars is given: the parser is a sizeable share of startup.
    const YAML = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    value = YAML.parse(text);
  } catch (err) {
    throw new CdpError(`--vars is not valid YAML or JSON: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, { hint: `e.g. --vars '{start_date: "2026-01-01"}'` });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CdpError('--vars must be a mapping', { hint: `e.g. --vars '{start_date: "2026-01-01"}'` });
  return value as Record<string, unknown>;
}

function parseThreads(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new CdpError(`--threads must be a whole number of at least 1, not "${text}"`);
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function withCommon(cmd: Command, opts: { selection?: boolean } = {}): Command {
  cmd
    .option('--project-dir <dir>', 'project directory', process.cwd())
    .option('--target <name>', 'target from cdp.config.yaml (default: its `target`)')
    .option('--vars <yaml>', 'override vars, as YAML or JSON')
    .option('--json', 'machine-readable output on stdout')
    .option('--debug', 'show stack traces and extra detail');
  if (opts.selection) {
    cmd
      .option('-s, --select <selector...>', 'nodes to include (dbt grammar: name, +name, name+, tag:x, path:dir, config.materialized:table)', collect)
      .option('--exclude <selector...>', 'nodes to leave out', collect);
  }
  return cmd;
}

function normalise(raw: Record<string, unknown>): GlobalOptions {
  const flat = (v: unknown) => (Array.isArray(v) ? v.flat().map(String) : undefined);
  return {
    projectDir: String(raw.projectDir ?? process.cwd()),
    target: raw.target as string | undefined,
    select: flat(raw.select),
    exclude: flat(raw.exclude),
    threads: raw.threads === undefined ? undefined : parseThreads(String(raw.threads)),
    json: Boolean(raw.json),
    debug: Boolean(raw.debug),
    vars: raw.vars === undefined ? undefined : parseVars(String(raw.vars)),
    fullRefresh: Boolean(raw.fullRefresh),
  };
}

let debugMode = process.argv.includes('--debug');

function action(fn: (opts: GlobalOptions, args: string[]) => Promise<number>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const raw = cmd.opts();
    debugMode = Boolean(raw.debug) || debugMode;
    const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a : [a])).filter((a): a is string => typeof a === 'string');
    const code = await fn(normalise(raw), positional);
    process.exitCode = code;
  };
}

export function buildProgram(): Command {
  const program = new Command('cdp')
    .description('composable-cdp: model, unify and activate customer data inside your own warehouse')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();

  withCommon(program.command('init').argument('[dir]', 'directory to create', '.').description('scaffold a new project that runs as is')).action(action((o, [dir]) => commandInit(o, dir ?? '.')));
  withCommon(program.command('compile').description('render every model and test, write target/manifest.json and target/compiled/ (never connects)'), { selection: true }).action(action(commandCompile));
  const threads = () => new Option('--threads <n>', 'how many nodes to build at once');
  const fullRefresh = () => new Option('--full-refresh', 'rebuild incremental models from scratch');
  withCommon(program.command('run').description('build models in DAG order'), { selection: true }).addOption(threads()).addOption(fullRefresh())
    .option('--dry-run', 'report the bytes each selected model would process (BigQuery); build nothing')
    .action(action((o) => (program.commands.find((c) => c.name() === 'run')!.opts().dryRun ? commandDryRun(o) : commandRun(o, 'run'))));
  withCommon(program.command('test').description('run data tests'), { selection: true }).addOption(threads()).action(action((o) => commandRun(o, 'test')));
  withCommon(program.command('seed').description('load seeds/*.csv'), { selection: true }).addOption(threads()).action(action((o) => commandRun(o, 'seed')));
  withCommon(program.command('build').description('seed, run and test in DAG order'), { selection: true }).addOption(threads()).addOption(fullRefresh()).action(action((o) => commandRun(o, 'build')));
  withCommon(program.command('ls').description('list nodes'), { selection: true })
    .addOption(new Option('--resource-type <type>', 'only this kind').choices(['model', 'seed', 'test', 'source']))
    .action(action((o) => commandLs(o, program.commands.find((c) => c.name() === 'ls')!.opts().resourceType)));
  withCommon(program.command('debug').description('show the resolved config (secrets redacted) and check the warehouse connection')).action(action(commandDebug));
  withCommon(program.command('generate').description('write the demo data set (raw CSVs and ground truth) into seeds/'))
    .option('--people <n>', 'number of people', '1000')
    .option('--seed <n>', 'random seed', '42')
    .option('--out <dir>', 'output directory (default: <project>/seeds)')
    .action(action((o) => {
      const own = program.commands.find((c) => c.name() === 'generate')!.opts();
      return commandGenerate(o, { people: Number(own.people), seed: Number(own.seed), out: own.out });
    }));
  const sync = program.command('sync').description('activate segments and models in destinations');
  withCommon(sync.command('run').argument('[names...]', 'syncs to run').description('plan in the warehouse, send the changes, commit what the destination confirmed'))
    .option('--all', 'every enabled sync')
    .option('--dry-run', 'print counts and a sample of the plan; send nothing')
    .option('--full-resync', 'send every row again, as if nothing had been sent')
    .action(action((o, names) => {
      const own = sync.commands.find((c) => c.name() === 'run')!.opts();
      return commandSyncRun(o, names, { all: own.all, dryRun: own.dryRun, fullResync: own.fullResync });
    }));
  withCommon(sync.command('ls').description('list syncs')).action(action(commandSyncLs));
  withCommon(sync.command('status').argument('[names...]', 'syncs to show').description('recent runs and open rejections')).action(action(commandSyncStatus));
  withCommon(program.command('serve').description('run cron-scheduled syncs until stopped (SIGTERM finishes the batches in flight)')).action(action(commandServe));

  const identity = program.command('identity').description('inspect and evaluate identity resolution');
  withCommon(identity.command('explain').argument('<type:value>', 'an identifier, e.g. email:ann@example.com').description('show the profile of an identifier and how each of its identifiers joined it'))
    .option('--entity <name>', 'entity, when the project has several')
    .action(action((o, [value]) => commandIdentityExplain(o, value, identity.commands.find((c) => c.name() === 'explain')!.opts().entity)));
  withCommon(identity.command('stats').description('profile sizes, largest profiles, rejected edges by reason'))
    .option('--entity <name>', 'entity, when the project has several')
    .action(action((o) => commandIdentityStats(o, identity.commands.find((c) => c.name() === 'stats')!.opts().entity)));
  withCommon(identity.command('evaluate').description('pairwise precision, recall and F1 against a ground-truth file'))
    .requiredOption('--truth <file>', 'CSV with source, record_key, person_id (cdp generate writes data/ground_truth.csv)')
    .option('--entity <name>', 'entity, when the project has several')
    .action(action((o) => {
      const own = identity.commands.find((c) => c.name() === 'evaluate')!.opts();
      return commandIdentityEvaluate(o, String(own.truth), own.entity);
    }));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  const e = err as { code?: string; exitCode?: number };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return EXIT_BAD_INPUT;
  }
  if (err instanceof CdpError) {
    process.stderr.write(redact(formatError(err)) + '\n');
    if (debugMode && err.stack) process.stderr.write(redact(err.stack) + '\n');
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${redact(message)}\n`);
  if (debugMode && err instanceof Error && err.stack) process.stderr.write(redact(err.stack) + '\n');
  else process.stderr.write('  (run again with --debug for a stack trace)\n');
  return EXIT_FAILURE;
}
