import { readFileSync } from 'node:fs';

/**
 * True when a process with this pid exists on this machine (the store is a local
 * directory) and has not ended. An ended process whose parent has not collected it yet
 * (a zombie: a killed `plantiles publish` is one until its parent, or init, collects it)
 * still answers signal 0, so on Linux its state is read too.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !hasEnded(pid);
}

/** True for a zombie (state Z, or X while it is removed); false where /proc cannot tell. */
function hasEnded(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true; // gone between the signal and the read
  }
  // The command name (field 2) is in parentheses and may hold any character; the state follows ") ".
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X';
}
