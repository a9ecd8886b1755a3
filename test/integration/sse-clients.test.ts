import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseHub } from '../../src/events/sse-hub.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { collectSse } from '../helpers/sse.js';
import { makeTempDir, removeDir, startParcelNode, startTestNode, stopNode, writeConfig, type TestNode } from '../helpers/test-node.js';

describe('/events with many clients', () => {
  let dir: string;
  let node: TestNode;
  let source: string;
  let edits = 0;
  const republish = async (): Promise<string> => {
    const fc = makeParcels();
    const p = fc.features[0]?.properties;
    if (p) p.TBMJ = 100 + ++edits;
    writeGeojson(source, fc);
    return (await node.publish('parcels')).version;
  };
  const sseClients = async (): Promise<number> => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    return Number(/^plantiles_sse_clients (\d+)$/m.exec(text)?.[1] ?? -1);
  };
  const waitFor = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    ({ dir, source, node } = await startParcelNode());
  });
  afterAll(() => stopNode(node, dir));

  it('holds 300 idle clients, keeps serving tiles, and delivers one publish to every one of them', async () => {
    const before = await sseClients();
    const clients = Array.from({ length: 300 }, () => collectSse(`${node.url}/events`, 1, { timeoutMs: 30_000 }));
    await waitFor(async () => (await sseClients()) === before + 300, '300 connected clients');
    const tile = await fetch(`${node.url}/tiles/parcels/12/0/0.mvt`);
    expect(tile.status).toBe(204);
    const version = await republish();
    const received = await Promise.all(clients);
    expect(received.filter((events) => events.length === 1)).toHaveLength(300);
    for (const [event] of received) {
      expect(event?.event).toBe('publish');
      expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ layer: 'parcels', version });
    }
    await waitFor(async () => (await sseClients()) === before, 'the clients to disconnect');
  });

  it('answers HEAD with the stream\'s headers and an end, keeping no client', async () => {
    const before = await sseClients();
    const heads = await Promise.all(Array.from({ length: 5 }, () => fetch(`${node.url}/events`, { method: 'HEAD', signal: AbortSignal.timeout(5000) })));
    for (const head of heads) {
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(await head.text()).toBe('');
    }
    expect(await sseClients()).toBe(before);
  });

  it('resumes after a reconnect with Last-Event-ID: exactly the missed events, in order, then live ones', async () => {
    const [first] = await Promise.all([collectSse(`${node.url}/events`, 1), new Promise((r) => setTimeout(r, 150)).then(republish)]);
    const lastSeen = first?.[0]?.id ?? '';
    expect(lastSeen).toMatch(/^\d+$/);
    const missed = [await republish(), await republish()];
    const resumed = collectSse(`${node.url}/events`, 3, { lastEventId: lastSeen, timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    const live = await republish();
    const events = await resumed;
    expect(events.map((e) => (JSON.parse(e.data) as { version: string }).version)).toEqual([...missed, live]);
    expect(events.map((e) => Number(e.id))).toEqual([Number(lastSeen) + 1, Number(lastSeen) + 2, Number(lastSeen) + 3]);
  });

  it('replays from ?lastEventId= too (for clients that cannot set headers), and /changes agrees', async () => {
    const changes = (await (await fetch(`${node.url}/changes?since=1`)).json()) as { events: { seq: number; version: string }[]; last: number };
    const replay = await collectSse(`${node.url}/events?lastEventId=1`, changes.events.length);
    expect(replay.map((e) => Number(e.id))).toEqual(changes.events.map((e) => e.seq));
    expect(changes.last).toBe(changes.events[changes.events.length - 1]?.seq);
  });
});

describe('SSE heartbeat', () => {
  let server: Server;
  let url: string;
  let hub: SseHub;
  let dir: string;
  let node: TestNode;

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    node = await startTestNode(writeConfig(dir, parcelConfig()));
    hub = new SseHub(node.rt.feed, { heartbeatMs: 100 });
    server = createServer((req, res) => hub.attach(req, res, null));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    hub.closeAll();
    await new Promise((r) => server.close(r));
    await node.stop();
    removeDir(dir);
  });

  it('sends a comment line on an idle stream at the heartbeat interval, from one timer for all clients', async () => {
    const controller = new AbortController();
    const res = await fetch(url, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const reader = res.body?.getReader();
    let text = '';
    while (!text.includes(': heartbeat\n\n')) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      text += Buffer.from(chunk.value).toString();
    }
    controller.abort();
    expect(text.startsWith('retry: 2000\n\n')).toBe(true);
    expect(text).toContain(': heartbeat\n\n');
  });
});
