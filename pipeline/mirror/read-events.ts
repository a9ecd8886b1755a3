import { MirrorError } from './mirror-error.js';
import type { UpstreamClient } from './upstream-client.js';

/** A change event of the upstream, as /events and /changes report it (the fields a mirror uses). */
export interface UpstreamEvent {
  seq: number;
  layer: string;
  version: string;
}

/** How to follow the event stream. */
export interface ReadEventsOptions {
  /** The last sequence number seen; sent as Last-Event-ID so the upstream replays what was missed. */
  lastEventId: number | null;
  signal?: AbortSignal;
  /** Silence after which the connection is presumed dead, ms (the upstream sends a heartbeat every 15 s). */
  idleMs?: number;
  /** Called once the stream is open. */
  onOpen?: () => void;
  onEvent: (e: UpstreamEvent) => void;
}

/**
 * Follows GET /events until the upstream closes it. An upstream (or a proxy) that
 * answers with something other than an event stream is a `bad-response`: the caller
 * then polls /changes instead. A lost connection, or a 5xx, is `unreachable`.
 */
export async function readEvents(client: UpstreamClient, opts: ReadEventsOptions): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (opts.lastEventId !== null) headers['last-event-id'] = String(opts.lastEventId);
  const res = await client.open('/events', { headers, signal: opts.signal, timeoutMs: opts.idleMs ?? 45_000, dedicated: true });
  const type = String(res.headers['content-type'] ?? '');
  // A 5xx is the upstream (or its proxy) failing for now, a restart say: an outage, not a lack of event streams.
  if ((res.statusCode ?? 0) >= 500) {
    res.resume();
    throw new MirrorError('unreachable', { upstream: client.baseUrl }, `/events answered ${res.statusCode ?? 0}`);
  }
  if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
    res.resume();
    throw new MirrorError('bad-response', { upstream: client.baseUrl }, `/events answered ${res.statusCode ?? 0} ${type || 'without a content type'}`);
  }
  opts.onOpen?.();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res) {
      buffer += decoder.decode(chunk as Buffer, { stream: true }).replace(/\r\n?/g, '\n');
      let split: number;
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const event = parseEventBlock(buffer.slice(0, split));
        buffer = buffer.slice(split + 2);
        if (event) opts.onEvent(event);
      }
    }
  } catch (err) {
    throw client.networkError('/events', err);
  }
}

/** One answer of GET /changes: the usable events, and `last`, the cursor to ask with next (null when absent). */
export async function readChanges(client: UpstreamClient, since: number, signal?: AbortSignal): Promise<{ events: UpstreamEvent[]; last: number | null }> {
  const doc = await client.getJson(`/changes?since=${since}`, { signal }) as { events?: unknown; last?: unknown };
  const events = (Array.isArray(doc.events) ? doc.events : []).map((raw) => toUpstreamEvent(raw)).filter((e): e is UpstreamEvent => e !== null);
  const last = typeof doc.last === 'number' && Number.isSafeInteger(doc.last) && doc.last >= 0 ? doc.last : null;
  return { events, last };
}

/** Parses one SSE block; null for comments, heartbeats and events a mirror does not use. */
export function parseEventBlock(block: string): UpstreamEvent | null {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('id:')) id = line.slice(3).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (!data.length) return null;
  return toUpstreamEvent(safeJson(data.join('\n')), id);
}

/** Checks one event object from /events or /changes; null when it is not a usable change event. */
export function toUpstreamEvent(v: unknown, id?: string): UpstreamEvent | null {
  if (typeof v !== 'object' || v === null) return null;
  const e = v as { seq?: unknown; layer?: unknown; version?: unknown };
  const seq = typeof e.seq === 'number' ? e.seq : Number(id);
  if (!Number.isSafeInteger(seq) || seq < 0 || typeof e.layer !== 'string' || typeof e.version !== 'string') return null;
  return { seq, layer: e.layer, version: e.version };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
