/**
 * Preloaded (`node --import`) into each timed compile: prints the main thread's CPU time at
 * exit. On a busy machine wall time says little; the main thread is the critical path of a
 * compile, so its CPU time is the figure to compare there. Linux only (/proc); prints nothing
 * elsewhere.
 */
import { readFileSync } from 'node:fs';

process.on('exit', () => {
  try {
    // schedstat: nanoseconds on the CPU, first field.
    const ns = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
    process.stderr.write(`__THREAD__ ${(ns / 1e9).toFixed(3)}\n`);
  } catch {
    // not Linux
  }
});
