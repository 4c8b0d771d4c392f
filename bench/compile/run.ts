/**
 * Compile benchmark: generates projects of 1k, 5k and 10k models and times `cdp compile`
 * as a user runs it (a fresh process each time), cold (no target/) and warm (target/ from
 * the previous compile). Peak RSS and CPU seconds (user + sys, all threads) come from
 * /usr/bin/time; CPU seconds are the figure to compare when the machine is busy.
 *
 *   npm run build && node dist/bench/compile/run.js [sizes...]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateBenchProject } from './generate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const cli = path.join(repo, 'dist/src/cli/main.js');
const work = path.join(repo, 'bench/.work');
const REPEATS = 3;

function measure(dir: string): { wall: number; cpu: number; sys: number; rssMb: number } {
  const res = execFileSync('/bin/sh', ['-c', `/usr/bin/time -f '__TIME__ %e %U %S %M' '${process.execPath}' '${cli}' compile --project-dir '${dir}' 2>&1 >/dev/null`], { encoding: 'utf8' });
  const m = /__TIME__ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(res);
  if (!m) throw new Error(`could not read timing from: ${res}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), sys: Number(m[3]), rssMb: Number(m[4]) / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${load()}`);
console.log('models | cold wall (s) | warm wall (s) | cold cpu (s) (of which sys) | warm cpu (s) | peak RSS (MB)');
for (const n of sizes.length ? sizes : [1000, 5000, 10000]) {
  const dir = path.join(work, `compile-${n}`);
  generateBenchProject(dir, n);
  const cold: ReturnType<typeof measure>[] = [];
  const warm: ReturnType<typeof measure>[] = [];
  for (let i = 0; i < REPEATS; i++) {
    rmSync(path.join(dir, 'target'), { recursive: true, force: true });
    cold.push(measure(dir));
    warm.push(measure(dir));
  }
  if (existsSync(path.join(dir, '.cdp'))) throw new Error('compile connected to the warehouse');
  const med = (runs: ReturnType<typeof measure>[], key: 'wall' | 'cpu' | 'sys') => median(runs.map((r) => r[key])).toFixed(2);
  const rss = Math.max(...[...cold, ...warm].map((r) => r.rssMb));
  console.log(`${n} | ${med(cold, 'wall')} | ${med(warm, 'wall')} | ${med(cold, 'cpu')} (${med(cold, 'sys')}) | ${med(warm, 'cpu')} | ${rss.toFixed(0)}`);
}
console.log(`load average at the end: ${load()}`);
