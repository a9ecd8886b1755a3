import type { Logger } from 'pino';
import type { MirrorConfig } from '../../src/config/schema.js';
import type { MirrorStatus } from '../../src/server/routes/mirrors.js';
import type { TileStore } from '../../src/store/tile-store.js';
import { backoffDelay, sleep } from './backoff.js';
import { matchesLayerPatterns } from './layer-patterns.js';
import { MirrorError } from './mirror-error.js';
import { MirrorTracker } from './mirror-tracker.js';
import { readChanges, readEvents, type UpstreamEvent } from './read-events.js';
import type { LayerSyncOutcome } from './sync-layer.js';
import { absentLayersProblem, syncUpstream } from './sync-upstream.js';
import { UpstreamClient } from './upstream-client.js';

/** An event stream that stayed open this long was a real connection (ms). */
const STABLE_STREAM_MS = 5000;
/** How long a mirror polls /changes before it tries the event stream again (a proxy in between may have been fixed). */
const RETRY_EVENTS_MS = 5 * 60_000;

/** Passes retried while a layer is not yet at the version its latest event named. */
const EXPECTATION_PASSES = 8;

/** What a running mirror works with. */
export interface MirrorDeps {
  store: TileStore;
  /** This node's id (layers originating here are never copied back). */
  nodeId: string;
  keepVersions: number;
  logger: Logger;
  /** Called after each local switch, so this process's change feed tells downstream nodes at once. */
  onChanged?: (outcome: LayerSyncOutcome) => void;
  /** Monotonic clock for lag, ms; injectable for tests. */
  now?: () => number;
  random?: () => number;
}

/**
 * Follows one upstream: listens to its /events (resuming with Last-Event-ID) or, when
 * that is unavailable, polls /changes; every (re)connection and every event triggers a
 * catch-up pass over the upstream's catalog. Passes run one at a time; a failed pass
 * is retried with backoff and jitter. State changes are logged once, not per retry.
 */
export class Mirror {
  private readonly client: UpstreamClient;
  private readonly abort = new AbortController();
  private readonly tracker: MirrorTracker;
  private readonly now: () => number;
  private mode: MirrorStatus['mode'] = 'events';
  private state: MirrorStatus['state'] = 'starting';
  private lastSeq: number | null = null;
  /** While set, the upstream has no usable event stream: /changes is polled until then (monotonic ms). */
  private pollUntil: number | null = null;
  private dirty = true;
  private wake: (() => void) | null = null;
  private failedPasses = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private tasks: Promise<void>[] = [];
  private lastLogged: string | null = null;
  /** The missing-layers problem last logged, so a pass repeating it logs nothing. */
  private lastAbsent: string | null = null;
  /** Per upstream layer, the version its latest event named, and passes run since. */
  private readonly expected = new Map<string, { version: string; passes: number }>();

  constructor(readonly config: MirrorConfig, private readonly deps: MirrorDeps) {
    this.client = new UpstreamClient(config.upstream, { concurrency: config.concurrency });
    this.now = deps.now ?? (() => performance.now());
    this.tracker = new MirrorTracker(config, deps.store, this.now);
  }

  /** Starts listening and syncing in the background. */
  start(): void {
    if (this.tasks.length) return;
    // Both loops catch what they expect; anything else is a bug, logged rather than left unhandled.
    this.tasks = [this.listen(), this.syncLoop()].map((task) => task.catch((err: unknown) => {
      this.deps.logger.error({ err, upstream: this.client.baseUrl }, 'mirror: stopped by an unexpected error');
    }));
  }

  /** Stops both loops, aborting any transfer (what arrived stays staged). */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.notify();
    await Promise.allSettled(this.tasks);
    this.client.close();
    this.state = 'stopped';
  }

  /** The mirror as GET /mirrors shows it. */
  status(): MirrorStatus {
    return {
      ...this.tracker.status(),
      state: this.state, mode: this.mode, lastEventSeq: this.lastSeq,
      transfer: { ...this.tracker.transfer, bytesReceived: this.client.bytesReceived() },
    };
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * Listens for the upstream's changes; every (re)connection asks for a catch-up pass. While
   * the event stream fails (a lost connection, a 5xx), /changes is polled until its next try:
   * the rest of the upstream may well answer (a proxy failing /events alone).
   */
  private async listen(): Promise<void> {
    let attempt = 0;
    let shortStreams = 0;
    while (!this.stopped) {
      const stream = { openedAt: null as number | null };
      const stable = (): boolean => stream.openedAt !== null && this.now() - stream.openedAt >= STABLE_STREAM_MS;
      let retryAt: number | null = null;
      try {
        if (this.pollUntil === null) {
          await readEvents(this.client, {
            lastEventId: this.lastSeq, signal: this.abort.signal,
            onOpen: () => { stream.openedAt = this.now(); this.connected('events'); },
            onEvent: (e) => this.onEvent(e),
          });
          // The upstream ended the stream (a restart, a proxy's timeout): reconnect, unless it keeps doing so at once.
          if (stream.openedAt !== null && !stable() && ++shortStreams >= 3) this.switchToPolling('the event stream keeps closing as soon as it opens');
        } else {
          await this.pollChanges(this.pollUntil, () => { attempt = 0; });
          // Time to try the event stream again: a proxy in between may have been fixed.
          this.pollUntil = null;
        }
      } catch (err) {
        if (this.stopped) break;
        const streamError = this.pollUntil === null && err instanceof MirrorError ? err : null;
        if (streamError?.code === 'bad-response') {
          this.switchToPolling(streamError.message);
          continue;
        }
        let down: unknown = err;
        if (streamError?.code === 'unreachable') {
          if (stable()) attempt = 0;
          retryAt = this.now() + this.backoff(attempt++);
          down = await this.pollUntilRetry(retryAt, streamError.message);
        }
        if (this.stopped) break;
        if (down !== null) this.setState('upstream-down', down);
      }
      if (stable()) {
        attempt = 0;
        shortStreams = 0;
      }
      await sleep(retryAt === null ? this.backoff(attempt++) : Math.max(0, retryAt - this.now()), this.abort.signal);
    }
  }

  /** Follows through /changes until the stream's next try; the error if /changes fails too (the upstream is down), else null. */
  private async pollUntilRetry(retryAt: number, streamProblem: string): Promise<unknown> {
    try {
      await this.pollChanges(retryAt, () => undefined, streamProblem);
      return null;
    } catch (err) {
      return err;
    }
  }

  private backoff(attempt: number): number {
    return backoffDelay(attempt, this.config.retryMaxSeconds * 1000, this.deps.random);
  }

  private switchToPolling(reason: string): void {
    this.mode = 'polling';
    this.pollUntil = this.now() + RETRY_EVENTS_MS;
    this.deps.logger.warn({ upstream: this.client.baseUrl, reason }, 'mirror: no event stream, polling /changes');
  }

  /**
   * Polls /changes until `until`, or until a request fails (which the caller turns into a
   * backoff). Its first answer asks for a catch-up pass, as a (re)connection of the stream does.
   * `streamProblem`: why the event stream is not used now, when it failed rather than was absent.
   */
  private async pollChanges(until: number, onOk: () => void, streamProblem?: string): Promise<void> {
    let first = true;
    while (!this.stopped && this.now() < until) {
      const page = await readChanges(this.client, this.lastSeq ?? 0, this.abort.signal);
      onOk();
      if (first && streamProblem !== undefined && this.mode === 'events') {
        this.deps.logger.warn({ upstream: this.client.baseUrl, reason: streamProblem }, 'mirror: the event stream fails; polling /changes until it answers');
      }
      if (first) this.connected('polling');
      first = false;
      for (const e of page.events) this.onEvent(e);
      // docs/api.md: `last` is the cursor to ask with next; below ours, the upstream's feed went back.
      if (page.last !== null && this.lastSeq !== null && page.last < this.lastSeq) this.cursorWentBack(page.last);
      if (page.last !== null) this.lastSeq = page.last;
      await sleep(Math.max(0, Math.min(this.config.pollSeconds * 1000, until - this.now())), this.abort.signal);
    }
  }

  /**
   * The upstream's sequence numbers went back: its store was restored from an older copy or
   * replaced. What it published since may carry numbers we had already passed, so the cursor
   * follows the upstream's and a pass compares catalogs.
   */
  private cursorWentBack(seq: number): void {
    this.deps.logger.warn({ upstream: this.client.baseUrl, was: this.lastSeq, now: seq }, 'mirror: the upstream\'s change feed went back (a restored store?); catching up from its catalog');
    this.requestPass();
  }

  /** Changes are learned again (or now in another way): catch up over the catalog. */
  private connected(mode: MirrorStatus['mode']): void {
    this.mode = mode;
    this.setState('following', null);
    this.requestPass();
  }

  private onEvent(e: UpstreamEvent): void {
    // We asked for events after lastSeq: one at or below it comes from a feed that went back.
    if (this.lastSeq !== null && e.seq <= this.lastSeq) this.cursorWentBack(e.seq);
    this.lastSeq = e.seq;
    if (!matchesLayerPatterns(e.layer, this.config.layers)) return;
    this.tracker.noteUpstreamChange(e.layer);
    this.expected.set(e.layer, { version: e.version, passes: 0 });
    this.requestPass();
  }

  /**
   * An event can reach us before the upstream's catalog shows it (its /changes reads
   * the store; its catalog is a cache refreshed a moment later), so a pass is retried
   * until each layer is at the version its latest event named. Bounded: a later event
   * may already have moved the layer on, and layers looping back to us are skipped.
   */
  private expectationsMet(): boolean {
    for (const [layer, exp] of this.expected) {
      const localId = this.config.prefix + layer;
      const met = this.tracker.versionOf(localId) === exp.version || this.tracker.skips(layer);
      if (met || ++exp.passes > EXPECTATION_PASSES) this.expected.delete(layer);
    }
    return this.expected.size === 0;
  }

  /** Runs catch-up passes one at a time, whenever one was asked for. */
  private async syncLoop(): Promise<void> {
    while (!this.stopped) {
      if (!this.dirty) await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = null;
      if (this.stopped) break;
      this.dirty = false;
      const ok = (await this.pass()) && this.expectationsMet();
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      if (ok) {
        this.failedPasses = 0;
        this.lastLogged = null;
      } else if (!this.stopped) {
        const delay = backoffDelay(this.failedPasses++, this.config.retryMaxSeconds * 1000, this.deps.random);
        this.retryTimer = setTimeout(() => this.requestPass(), delay);
      }
    }
  }

  /** One pass; true when every followed layer is now at the upstream's version. */
  private async pass(): Promise<boolean> {
    try {
      const result = await syncUpstream({
        client: this.client, store: this.deps.store, concurrency: this.config.concurrency,
        keepVersions: this.deps.keepVersions, signal: this.abort.signal, nodeId: this.deps.nodeId,
        prefix: this.config.prefix, patterns: this.config.layers,
        onCatalog: (catalog, selected) => {
          // The upstream answered: it is not down, whatever the event stream is doing.
          if (this.state === 'upstream-down') this.setState('following', null);
          this.tracker.noteCatalog(catalog, selected);
        },
        onChanged: (outcome) => this.changed(outcome),
      });
      const failed = result.outcomes.filter((o) => o.state === 'failed');
      // Switches were noted as they happened (changed()); note the rest now.
      for (const o of result.outcomes) if (o.state === 'failed' || o.state === 'up-to-date') this.tracker.noteOutcome(o);
      // As `sync` does: a layer named in the config (a typo, say) must not pass as in step. Not retried with
      // backoff: the layers that exist are in step, and an event for the missing one brings a pass anyway.
      const absent = absentLayersProblem(this.client.baseUrl, this.config.layers, result.upstreamLayers);
      this.tracker.passDone(failed.length ? (failed[0] as { error: string }).error : null, new Date(), absent);
      if (absent !== this.lastAbsent && absent !== null) this.deps.logger.warn({ upstream: this.client.baseUrl, error: absent }, `mirror: ${absent}`);
      this.lastAbsent = absent;
      if (failed.length) this.logError(failed.map((o) => (o as { error: string }).error).join('; '));
      return failed.length === 0;
    } catch (err) {
      if (this.stopped) return true;
      const message = err instanceof Error ? err.message : String(err);
      this.tracker.passDone(message, new Date());
      if (err instanceof MirrorError && err.code === 'unreachable') this.setState('upstream-down', err);
      else this.logError(message);
      return false;
    }
  }

  private changed(outcome: LayerSyncOutcome): void {
    this.tracker.noteOutcome(outcome);
    this.deps.logger.info({ upstream: this.client.baseUrl, ...outcome }, `mirror: ${outcome.layer} is now ${outcome.state === 'failed' ? '?' : outcome.version}`);
    this.deps.onChanged?.(outcome);
  }

  private requestPass(): void {
    this.dirty = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Logs a state change once (not every retry). */
  private setState(state: MirrorStatus['state'], err: unknown): void {
    if (state === this.state) return;
    this.state = state;
    const upstream = this.client.baseUrl;
    if (state === 'upstream-down') {
      this.tracker.noteError(err instanceof Error ? err.message : String(err), new Date());
      this.deps.logger.warn({ upstream, reason: err instanceof Error ? err.message : String(err) }, 'mirror: upstream unreachable, retrying with backoff');
    } else {
      this.deps.logger.info({ upstream, mode: this.mode }, 'mirror: following upstream');
    }
  }

  /** Logs an error once per distinct message, so a failing retry does not flood the log. */
  private logError(message: string): void {
    if (message === this.lastLogged) return;
    this.lastLogged = message;
    this.deps.logger.error({ upstream: this.client.baseUrl, error: message }, 'mirror: sync failed');
  }
}
