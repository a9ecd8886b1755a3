import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/store/process-alive.js';

/** The state letter of a process (field 3 of /proc/<pid>/stat). */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('isProcessAlive', () => {
  it('is true for this process and false for a pid no process has', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 22 + 1)).toBe(false);
  });

  // An abandoned build is dropped only when its writer is gone; a writer that ended but
  // was not collected yet (its parent killed, init not yet round) must count as gone.
  it.skipIf(process.platform !== 'linux')('is false for a zombie: a process that ended and was not collected', async () => {
    // The shell starts a background subshell and becomes `sleep`, which never waits for it. The
    // subshell ends half a second later, well after the exec: a child that ended before it
    // could be collected by the shell itself (it was, once, in a full run).
    const parent = spawn('sh', ['-c', '(sleep 0.5) & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
      for (let i = 0; i < 200 && stateOf(zombie) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
      expect(stateOf(zombie)).toBe('Z');
      expect(isProcessAlive(zombie)).toBe(false);
      expect(isProcessAlive(parent.pid as number)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
