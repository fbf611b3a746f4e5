/**
 * What the bench scripts read about a server process from /proc (Linux): CPU time of the whole process
 * or of its main thread (the event loop: its thread id is the process id), and resident memory.
 * NaN or null where it cannot be read (another OS, the process gone).
 */
import { existsSync, readFileSync } from 'node:fs';

/** _SC_CLK_TCK: 100 on Linux x86-64. */
const CLOCK_TICKS_PER_SECOND = 100;

/** User and system CPU time, in ms. */
export interface CpuTimes {
  readonly userMs: number;
  readonly systemMs: number;
}

function statCpu(path: string): CpuTimes {
  try {
    // The command name (field 2) may hold spaces: the fields after it start past its closing parenthesis.
    const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
    return { userMs: (Number(fields[11]) * 1000) / CLOCK_TICKS_PER_SECOND, systemMs: (Number(fields[12]) * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return { userMs: Number.NaN, systemMs: Number.NaN };
  }
}

function statCpuMs(path: string): number {
  const { userMs, systemMs } = statCpu(path);
  return userMs + systemMs;
}

/** User and system CPU time of the process's main thread, in ms. */
export function mainThreadCpu(pid: number | undefined): CpuTimes {
  return statCpu(`/proc/${pid}/task/${pid}/stat`);
}

/** CPU time (user + system) the process has used, all threads, in ms. */
export function processCpuMs(pid: number | undefined): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** CPU time (user + system) of the process's main thread (Node's event loop), in ms. */
export function mainThreadCpuMs(pid: number | undefined): number {
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

/**
 * The main thread's time on a CPU in ms, from the scheduler's own count in nanoseconds
 * (`/proc/<pid>/task/<pid>/schedstat`, first field): finer than stat's 10 ms ticks, which
 * only sample which thread was running at each tick. User and system time are not told apart.
 */
export function mainThreadRunMs(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

function statusMiB(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number | null {
  const path = `/proc/${pid}/status`;
  if (pid === undefined || !existsSync(path)) return null;
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(path, 'utf8'));
  return match?.[1] ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
}

/** Resident memory now, in MiB. */
export const rssMiB = (pid: number | undefined): number | null => statusMiB(pid, 'VmRSS');

/** The peak resident memory (VmHWM: since start, or since the last reset through clear_refs), in MiB. */
export const peakRssMiB = (pid: number | undefined): number | null => statusMiB(pid, 'VmHWM');
