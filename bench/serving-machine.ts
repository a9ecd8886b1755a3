import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

// What the serving benchmark reads of the machine (Linux /proc): who used the CPU during a
// run, at what priority, in which scheduling group, and whether anyone else was busy.

/** The scheduler autogroup of a process (Linux, sched_autogroup: one per session), or null when unknown. */
export function autogroupOf(pid: number): string | null {
  try {
    return /\/autogroup-\d+/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[0] ?? null;
  } catch {
    return null;
  }
}

/** The distinct nice values of a process's threads (field 19 of /proc/<pid>/task/<tid>/stat), or [] when unknown. */
export function threadNicesOf(pid: number): number[] {
  return threadStatField(pid, 19).map(Number).sort((a, b) => a - b);
}

const POLICIES: Record<string, string> = { 0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE', 6: 'SCHED_DEADLINE' };

/** The distinct scheduling policies of a process's threads (field 41 of /proc/<pid>/task/<tid>/stat), or [] when unknown. */
export function threadPoliciesOf(pid: number): string[] {
  return threadStatField(pid, 41).map((p) => POLICIES[p] ?? `policy ${p}`).sort();
}

/** The distinct values of one field (1-based, as in proc(5)) of /proc/<pid>/task/<tid>/stat over a process's threads. */
function threadStatField(pid: number, field: number): string[] {
  const values = new Set<string>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // Field 2, the command name, is in parentheses and may hold spaces: count from field 3, after ") ".
        const value = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3];
        if (value !== undefined) values.add(value);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    return [];
  }
  return [...values];
}

/** CPU time (user + system, in clock ticks) a process has used, its threads included; 0 when unknown. */
export function cpuTicksOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The machine's CPU time by kind (clock ticks, all cores) from /proc/stat; `steal` is time a virtual machine's host gave to others. */
export function machineTicks(): Record<'user' | 'nice' | 'system' | 'idle' | 'iowait' | 'irq' | 'softirq' | 'steal', number> {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

/** CPU ticks used so far by each live process of another session (not kernel threads): other people's work on the machine. */
export function ticksOfOtherSessions(): Map<number, number> {
  const mine = sessionOf('self');
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const sid = Number(fields[3]);
      if (sid !== 0 && sid !== mine) ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks;
}

/** Ticks used between two ticksOfOtherSessions() readings by the processes alive at the second (those that ended are missed). */
export function ticksBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, t] of after) total += t - (before.get(pid) ?? 0);
  return total;
}

function sessionOf(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/**
 * Waits (at most `maxWaitMs`) until processes of other sessions used under `share` of
 * the machine's CPU for two seconds running; resolves with the share last seen.
 */
export async function waitForQuiet(maxWaitMs = 60_000, share = 0.05): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  const capacity = 2 * 100 * availableParallelism();
  for (;;) {
    const before = ticksOfOtherSessions();
    await new Promise((r) => setTimeout(r, 2000));
    const seen = ticksBetween(before, ticksOfOtherSessions()) / capacity;
    if (seen < share || Date.now() >= deadline) return seen;
  }
}
