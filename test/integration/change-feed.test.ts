import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { collectSse } from '../helpers/sse.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

describe('change feed', () => {
  let dir: string;
  let node: TestNode;
  let source: string;

  beforeAll(async () => {
    dir = makeTempDir();
    source = path.join(dir, 'parcels.geojson');
    writeGeojson(source, makeParcels());
    node = await startTestNode(writeConfig(dir, parcelConfig()));
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  const edit = (tbmj: number): void => {
    const fc = makeParcels();
    const p = fc.features[0]?.properties;
    if (p) p.TBMJ = tbmj;
    writeGeojson(source, fc);
  };

  it('streams a publish event with seq as the SSE id', async () => {
    const pending = collectSse(`${node.url}/events`, 1);
    await new Promise((r) => setTimeout(r, 200));
    await node.publish('parcels');
    const [event] = await pending;
    expect(event?.event).toBe('publish');
    const body = JSON.parse(event?.data ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ layer: 'parcels', version: '1.0.0', previous: null });
    expect(typeof body.changedTiles).toBe('number');
    expect(event?.id).toBe(String(body.seq));
  });

  it('replays what a client missed after Last-Event-ID', async () => {
    edit(1);
    await node.publish('parcels');
    edit(2);
    await node.publish('parcels');
    const all = (await (await fetch(`${node.url}/changes?since=0`)).json()) as { events: { seq: number; version: string }[] };
    expect(all.events.map((e) => e.version)).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    const first = all.events[0]?.seq ?? 0;
    const replay = await collectSse(`${node.url}/events`, 2, { lastEventId: String(first) });
    expect(replay.map((e) => (JSON.parse(e.data) as { version: string }).version)).toEqual(['1.1.0', '1.2.0']);
  });

  it('notices a publish made by another process on the same data dir', async () => {
    edit(3);
    const pending = collectSse(`${node.url}/events`, 1, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    const cli = spawnSync(process.execPath, ['dist/src/cli/main.js', '--config', path.join(dir, 'plantiles.yaml'), 'publish', 'parcels', '--json'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const [event] = await pending;
    expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ layer: 'parcels', version: '1.3.0', previous: '1.2.0' });
    const tile = await fetch(`${node.url}/tiles/parcels.json`);
    expect(((await tile.json()) as { version: string }).version).toBe('1.3.0');
  });

  it('brings a cursor ahead of every event back to the last one, so the next events are not skipped', async () => {
    const { last } = (await (await fetch(`${node.url}/changes?since=0`)).json()) as { last: number };
    expect(await (await fetch(`${node.url}/changes?since=${last}`)).json()).toEqual({ events: [], last });
    expect(await (await fetch(`${node.url}/changes?since=${last + 1000}`)).json()).toEqual({ events: [], last });
    // So does an event stream resumed with such a Last-Event-ID: the next publish reaches it.
    const pending = collectSse(`${node.url}/events`, 1, { lastEventId: String(last + 1000), timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    edit(9);
    await node.publish('parcels');
    const [event] = await pending;
    expect(Number(event?.id)).toBe(last + 1);
  });

  it('refuses a malformed since with 400', async () => {
    expect((await fetch(`${node.url}/changes?since=abc`)).status).toBe(400);
    expect((await fetch(`${node.url}/events`, { headers: { 'last-event-id': 'x' } })).status).toBe(400);
  });
});
