/**
 * Compile benchmark: generates projects of 1k, 5k and 10k models and times `cdp compile`
 * as a user runs it (a fresh process each time), cold (no target/) and warm (target/ from
 * the previous compile). Peak RSS and CPU seconds (user + sys, all threads) come from
 * /usr/bin/time, the main thread's CPU seconds from /proc (thread-time.ts); CPU seconds are
 * the figures to compare when the machine is busy.
 *
 *   npm run build && node dist/bench/compile/run.js [sizes...]
 *
 * "Cold" starts without target/: the previous one is moved aside, not deleted. On ext4 without
 * a journal (this machine's disk), creating files right after deleting many costs the kernel a
 * scan past every recently deleted inode (minutes after the delete), so a compile right after
 * `rm -rf target` measures that more than the compiler. That case is timed separately, last
 * (its deletes would slow every cold compile after it), as "cold after rm -rf".
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateBenchProject } from './generate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const cli = path.join(repo, 'dist/src/cli/main.js');
const threadTime = pathToFileURL(path.join(here, 'thread-time.js')).href;
const work = path.join(repo, 'bench/.work');
const trash = path.join(work, 'trash');
const REPEATS = 3;

interface Run {
  wall: number;
  cpu: number;
  sys: number;
  rssMb: number;
  /** The main thread's CPU seconds (NaN where /proc is not available). */
  main: number;
}

function measure(dir: string): Run {
  const res = execFileSync('/bin/sh', ['-c', `/usr/bin/time -f '__TIME__ %e %U %S %M' '${process.execPath}' --import '${threadTime}' '${cli}' compile --project-dir '${dir}' 2>&1 >/dev/null`], { encoding: 'utf8' });
  const m = /__TIME__ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(res);
  if (!m) throw new Error(`could not read timing from: ${res}`);
  const main = /__THREAD__ ([\d.]+)/.exec(res);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), sys: Number(m[3]), rssMb: Number(m[4]) / 1024, main: main ? Number(main[1]) : NaN };
}

/** Moves target/ out of the way without deleting its files (see the header). */
let moved = 0;
function moveAside(dir: string): void {
  const target = path.join(dir, 'target');
  if (!existsSync(target)) return;
  mkdirSync(trash, { recursive: true });
  renameSync(target, path.join(trash, `${path.basename(dir)}-${process.pid}-${moved++}`));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const med = (runs: Run[], key: keyof Run, digits = 2) => median(runs.map((r) => r[key])).toFixed(digits);

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${load()}`);
const results: { n: number; cold: Run[]; warm: Run[]; afterRm: Run[] }[] = [];
for (const n of sizes.length ? sizes : [1000, 5000, 10000]) {
  const dir = path.join(work, `compile-${n}`);
  generateBenchProject(dir, n);
  const cold: Run[] = [];
  const warm: Run[] = [];
  for (let i = 0; i < REPEATS; i++) {
    moveAside(dir);
    cold.push(measure(dir));
    warm.push(measure(dir));
  }
  if (existsSync(path.join(dir, '.cdp'))) throw new Error('compile connected to the warehouse');
  results.push({ n, cold, warm, afterRm: [] });
}
for (const r of results) {
  const dir = path.join(work, `compile-${r.n}`);
  for (let i = 0; i < REPEATS; i++) {
    rmSync(path.join(dir, 'target'), { recursive: true, force: true });
    r.afterRm.push(measure(dir));
  }
}
console.log('models | cold wall (s) | warm wall (s) | cold cpu (s) (of which sys) | warm cpu (s) | warm main thread (s) | peak RSS (MB) | cold after rm -rf: wall (s) (sys)');
for (const { n, cold, warm, afterRm } of results) {
  const rss = Math.max(...[...cold, ...warm, ...afterRm].map((r) => r.rssMb));
  console.log(`${n} | ${med(cold, 'wall')} | ${med(warm, 'wall')} | ${med(cold, 'cpu')} (${med(cold, 'sys')}) | ${med(warm, 'cpu')} | ${med(warm, 'main')} | ${rss.toFixed(0)} | ${med(afterRm, 'wall')} (${med(afterRm, 'sys')})`);
}
// Deleted last, after every measurement.
rmSync(trash, { recursive: true, force: true });
console.log(`load average at the end: ${load()}`);
