import { EventEmitter } from 'node:events';
import type { CatalogCache } from '../store/catalog-cache.js';
import type { ChangeEvent, TileStore } from '../store/tile-store.js';

/**
 * Watches the store for new current versions, whoever wrote them (this process, a
 * CLI on the same data dir, a mirror), and tells subscribers. Polling SQLite's
 * data_version is cheap and needs no cooperation from the writer.
 */
export class ChangeFeed {
  private lastSeq: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly emitter = new EventEmitter();

  private seenDataVersion = -1;

  constructor(private readonly store: TileStore, private readonly catalog: CatalogCache, private readonly pollMs = 250) {
    this.emitter.setMaxListeners(0);
    const all = store.eventsSince(0, Number.MAX_SAFE_INTEGER);
    this.lastSeq = all.length ? (all[all.length - 1] as ChangeEvent).seq : 0;
  }

  /** Starts polling (idempotent). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.poll(), this.pollMs);
    this.timer.unref();
  }

  /** Stops polling (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Checks for changes now: call after this process's own writes. */
  poll(force = false): void {
    // The feed keeps its own data_version mark: another reader refreshing the catalog
    // must not swallow the change the feed has yet to announce.
    const dv = this.store.dataVersion();
    if (dv === this.seenDataVersion && !force) return;
    this.seenDataVersion = dv;
    if (!this.catalog.refreshIfChanged() && force) this.catalog.reload();
    for (const e of this.store.eventsSince(this.lastSeq)) {
      this.lastSeq = e.seq;
      this.emitter.emit('change', e);
    }
  }

  /** The highest sequence number seen. */
  get last(): number {
    return this.lastSeq;
  }

  /** Events after `since`, from the store. */
  since(since: number, limit = 1000): ChangeEvent[] {
    return this.store.eventsSince(since, limit);
  }

  /** Calls `listener` for each new event, and `onClose` when the feed closes its streams; returns the unsubscribe. */
  subscribe(listener: (e: ChangeEvent) => void, onClose?: () => void): () => void {
    this.emitter.on('change', listener);
    if (onClose) this.emitter.on('close', onClose);
    return () => {
      this.emitter.off('change', listener);
      if (onClose) this.emitter.off('close', onClose);
    };
  }

  /** Stops polling and tells subscribers to end their streams (graceful shutdown). */
  closeStreams(): void {
    this.stop();
    this.emitter.emit('close');
  }
}

/** The JSON body of a change event as the feed publishes it. */
export function eventBody(e: ChangeEvent): Record<string, unknown> {
  return { seq: e.seq, layer: e.layer, version: e.version, previous: e.previous, publishedAt: e.publishedAt, changedTiles: e.changedTiles, kind: e.kind };
}
