import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** The built logger factory, as `plantiles serve` uses it. */
const RUNTIME = pathToFileURL(path.resolve('dist/src/cli/runtime.js')).href;

/** Runs a module snippet that gets `createLogger` in a fresh node process; returns its exit status and output. */
function runWithLogger(body: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const code = `import { createLogger } from ${JSON.stringify(RUNTIME)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The `seq` of each JSON log line on stdout that has one. */
function sequence(stdout: string): number[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { seq?: number }).flatMap((l) => (l.seq === undefined ? [] : [l.seq]));
}

const LOG_LINES = 'const log = createLogger("info", 1); for (let seq = 0; seq < 5000; seq++) log.info({ seq, url: "/tiles/x/1/2/3.mvt" }, "request completed");';
const ALL = Array.from({ length: 5000 }, (_, i) => i);

// serve's stdout logs are batched and written asynchronously: none may be lost however the process ends.
describe('server log output', () => {
  it('writes every line, in order, when the process ends on its own', () => {
    const r = runWithLogger(LOG_LINES);
    expect(r.status, r.stderr).toBe(0);
    expect(sequence(r.stdout)).toEqual(ALL);
  });

  it('writes every line when process.exit() follows the logging at once', () => {
    const r = runWithLogger(`${LOG_LINES} process.exit(3);`);
    expect(r.status, r.stderr).toBe(3);
    expect(sequence(r.stdout)).toEqual(ALL);
  });

  it('writes every line when the process dies of an uncaught exception', () => {
    const r = runWithLogger(`${LOG_LINES} setImmediate(() => { throw new Error("boom"); });`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('boom');
    expect(sequence(r.stdout)).toEqual(ALL);
  });

  it('hands lines to stdout on flush() while the process keeps running', async () => {
    const code = `import { createLogger } from ${JSON.stringify(RUNTIME)};
      const log = createLogger("info", 1);
      for (let seq = 0; seq < 3; seq++) log.info({ seq }, "line");
      log.flush();
      process.stdin.resume();`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const seen = await new Promise<number[]>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (sequence(out).length >= 3) resolve(sequence(out));
      });
      child.once('exit', (codeOrNull) => reject(new Error(`exited (${codeOrNull}) before writing its lines: ${out}`)));
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
  });

  it('takes its level from PLANTILES_LOG_LEVEL', () => {
    const r = runWithLogger('const log = createLogger("info", 1); log.info({ seq: 1 }, "info"); log.warn({ seq: 2 }, "warn");', { PLANTILES_LOG_LEVEL: 'warn' });
    expect(r.status, r.stderr).toBe(0);
    expect(sequence(r.stdout)).toEqual([2]);
  });

  describe('the CLI', () => {
    let dir: string;
    beforeAll(() => {
      dir = makeTempDir();
      writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(2, 2));
      writeConfig(dir, parcelConfig());
    });
    afterAll(() => removeDir(dir));

    it('refuses an unknown PLANTILES_LOG_LEVEL as a usage error (exit 2) naming the variable', () => {
      const r = spawnSync(process.execPath, ['dist/src/cli/main.js', '--config', path.join(dir, 'plantiles.yaml'), 'serve'], {
        encoding: 'utf8', env: { ...process.env, PORT: '0', PLANTILES_LOG_LEVEL: 'loud' },
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/PLANTILES_LOG_LEVEL: "loud" is not a log level/);
    });
  });
});
