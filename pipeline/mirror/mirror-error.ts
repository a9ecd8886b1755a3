/**
 * Why a mirror could not copy a version.
 * - unreachable: the upstream did not answer (refused, reset, timed out); retried with backoff.
 * - version-gone: the upstream pruned or replaced the version mid-copy (410/404); retried from a fresh catalog.
 * - hash-mismatch: a tile's bytes did not match its hash twice; the job fails.
 * - bad-response: the upstream answered something that is not what the API promises.
 * - conflict: the store refused the import (a local layer of the same id, another origin, a count mismatch).
 */
export type MirrorErrorCode = 'unreachable' | 'version-gone' | 'hash-mismatch' | 'bad-response' | 'conflict';

/** Where a mirror problem happened. */
export interface MirrorErrorContext {
  upstream: string;
  layer?: string;
  version?: string;
  /** "z/x/y" of the tile concerned. */
  tile?: string;
}

/** An error of the mirror subsystem; the message names the upstream, the layer, the version and the tile. */
export class MirrorError extends Error {
  override readonly name = 'MirrorError';
  constructor(readonly code: MirrorErrorCode, readonly context: MirrorErrorContext, problem: string) {
    super(formatMirrorProblem(context, problem));
  }

  /** True for errors that retrying later can cure (the upstream down, or moving on mid-copy). */
  get transient(): boolean {
    return this.code === 'unreachable' || this.code === 'version-gone';
  }
}

function formatMirrorProblem(c: MirrorErrorContext, problem: string): string {
  const what = [c.layer && (c.version ? `${c.layer}@${c.version}` : c.layer), c.tile && `tile ${c.tile}`].filter(Boolean).join(' ');
  return `${c.upstream}${what ? ` ${what}` : ''}: ${problem}`;
}
