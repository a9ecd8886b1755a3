import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maplibreDistDir } from '../../src/server/package-paths.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** Splits raw HTTP/1.1 responses (each with Content-Length) read off one connection. */
function splitResponses(raw: Buffer): { status: number; body: Buffer }[] {
  const out: { status: number; body: Buffer }[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = raw.subarray(at, end).toString('latin1');
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN);
    out.push({ status: Number(head.split(' ')[1]), body: raw.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => {
  if (child.exitCode !== null) resolve(child.exitCode);
  else child.once('exit', (code) => resolve(code));
});

// SIGTERM to a real `plantiles serve`: stop accepting, end event streams, finish what is in flight, exit 0.
describe('graceful shutdown', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let output = '';

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    writeConfig(dir, parcelConfig());
    const config = path.join(dir, 'plantiles.yaml');
    expect(spawnSync(process.execPath, ['dist/src/cli/main.js', '--config', config, 'publish', 'parcels'], { encoding: 'utf8' }).status).toBe(0);
    child = spawn(process.execPath, ['dist/src/cli/main.js', '--config', config, 'serve'], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const m = /serving .* at (http:\/\/\S+)/.exec(output);
        if (m) resolve(m[1] as string);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
    });
  });
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    removeDir(dir);
  });

  it('ends SSE streams, refuses new connections, completes the in-flight responses, then exits 0', async () => {
    const events = await fetch(`${url}/events`);
    const reader = events.body?.getReader();
    await reader?.read();
    // Two pipelined downloads of 5.6 MB on a socket we stop reading: far more than the socket buffers hold,
    // so both responses are still being written when the signal arrives.
    const file = path.join(maplibreDistDir(), 'maplibre-gl.mjs.map');
    const expected = createHash('sha256').update(readFileSync(file)).digest('hex');
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause();
    const get = `GET /vendor/maplibre-gl/maplibre-gl.mjs.map HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n`;
    socket.write(get + get);
    await new Promise((r) => setTimeout(r, 500));

    child.kill('SIGTERM');
    const streamEnd = await Promise.race([reader?.read().then((r) => r?.done), new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    expect(streamEnd).toBe(true);
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      refused = await fetch(`${url}/healthz`).then(() => false, () => true);
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(child.exitCode).toBeNull();
    expect(chunks).toHaveLength(0);

    socket.resume();
    await ended;
    const responses = splitResponses(Buffer.concat(chunks));
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    for (const r of responses) expect(createHash('sha256').update(r.body).digest('hex')).toBe(expected);
    expect(await exited(child)).toBe(0);
    expect(output).toMatch(/shutting down/);
  });
});
