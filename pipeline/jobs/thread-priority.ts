import os from 'node:os';

/**
 * The nice level of publish threads by default, the lowest: serving (nice 0) gets the CPU
 * first. Against nice 10, a server on 2 cores kept about 12% more of its idle request rate
 * during one of its own publish jobs, and about 15% more beside a CLI publish (see docs/operations.md).
 */
export const DEFAULT_PUBLISH_NICE = 19;

/** What lowering a thread's priority came to. */
export type PriorityOutcome =
  | { kind: 'set'; nice: number }
  /** Already at that nice level or lower priority: nothing to do. */
  | { kind: 'kept'; nice: number }
  | { kind: 'failed'; message: string };

/**
 * Lowers the calling thread's CPU priority to `nice` (never raises it, which needs
 * privileges). On Linux, setpriority(PRIO_PROCESS, 0) acts on the calling thread
 * only, and threads it starts later inherit its nice value: called first thing in a
 * publish thread, it covers the tiling threads that thread spawns, while the main
 * thread (serving) keeps its own. Elsewhere it may act on the whole process, so it is
 * only applied on Linux.
 */
export function lowerThreadPriority(nice: number, platform: NodeJS.Platform = process.platform): PriorityOutcome {
  if (platform !== 'linux') return { kind: 'failed', message: `per-thread priority is not supported on ${platform}` };
  try {
    const current = os.getPriority(0);
    if (current >= nice) return { kind: 'kept', nice: current };
    os.setPriority(0, nice);
    return { kind: 'set', nice: os.getPriority(0) };
  } catch (err) {
    return { kind: 'failed', message: (err as Error).message };
  }
}
