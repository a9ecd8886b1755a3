import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LayerConfig } from '../../src/config/schema.js';
import { SqliteJobs } from '../../src/store/sqlite-jobs.js';
import { SqliteSources, type SourceFingerprint, type SourceRead } from '../../src/store/sqlite-sources.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { unzipSafely, type UnzipLimits } from '../ingest/unzip-safely.js';
import { PipelineError } from '../pipeline-error.js';
import { publishLayer, type LayerToPublish, type PublishProgress, type PublishResult } from '../publish/publish-layer.js';
import type { TilingPool } from '../tile/tiling-pool.js';
import { withCommitHook } from './commit-hook.js';
import { SourceFingerprinting } from './fingerprint-source.js';
import type { JobFailure, JobTask, TaskRevision } from './worker-protocol.js';

/** A job stopped on request (the server is shutting down). */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
}

/** What a running job can call back. */
export interface JobContext {
  store: SqliteStore;
  report(p: PublishProgress): void;
  /** Called with the source's stats, taken before it is read. */
  readingSource(read: SourceRead): void;
  /** True once the job was asked to stop; checked between batches. */
  cancelled(): boolean;
  /** Tiling threads to spawn; default: the cores beyond one for serving and one for this thread. */
  tilingThreads?: number;
  /** Where the tiling threads come from and go back to between jobs. */
  tilingPool?: TilingPool;
}

/** A failure with the fingerprint of the source it read, when it got that far. */
class FailedWithSource extends Error {
  constructor(readonly original: unknown, readonly fingerprint: SourceFingerprint | null) {
    super((original as Error).message);
  }
}

/**
 * Runs one job in the calling thread: prepares the source (unpacking an upload),
 * fingerprints it, publishes, and — inside the version's commit transaction —
 * records the job's outcome, activates the upload and remembers the source.
 * The source's stats are taken before it is read, its content hash as the publish reads
 * it (SourceFingerprinting); the hash is awaited before the version commits.
 */
export async function runJob(task: JobTask, ctx: JobContext): Promise<PublishResult> {
  let source: SourceFingerprinting | null = null;
  try {
    const layer = task.revision ? await prepareUpload(task, task.revision, ctx) : task.layer;
    const fingerprinting = await SourceFingerprinting.start(layer.source);
    ctx.readingSource(fingerprinting.read);
    source = fingerprinting;
    let fp: SourceFingerprint | null = null;
    const jobs = new SqliteJobs(ctx.store.db);
    const sources = new SqliteSources(ctx.store.db);
    const store = withCommitHook(ctx.store, ctx.store.db, (result) => {
      const detail = result.state === 'published' ? `published ${result.version}` : `unchanged at ${result.version}`;
      jobs.finish(task.jobId, { state: result.state === 'published' ? 'succeeded' : 'unchanged', version: result.version, detail });
      if (task.revision) sources.activate(task.revision.id);
      if (!fp) throw new Error('the source was not hashed before the commit');
      sources.recordPublished(task.layer.id, fp);
    });
    return await publishLayer(layer, {
      store, keepVersions: task.keepVersions, defaultAttribution: task.defaultAttribution, workers: ctx.tilingThreads ?? defaultTilingThreads(), tilingPool: ctx.tilingPool,
      onSourceRead: (hash) => fingerprinting.sourceRead(hash),
      beforeCommit: async () => {
        fp = await fingerprinting.fingerprint();
      },
      onProgress: (p) => {
        if (ctx.cancelled()) throw new JobCancelledError('the job was stopped');
        ctx.report(p);
      },
    });
  } catch (err) {
    // A stopped job records no source (see JobRunner), so it does not wait for the hash.
    const fingerprint = source && !(err instanceof JobCancelledError) ? await source.fingerprint().catch(() => null) : null;
    throw new FailedWithSource(err, fingerprint);
  }
}

/**
 * Tiling threads of a job: a serving node keeps one core for requests and one for the
 * job's own thread (which cuts tiles itself when there are no more cores).
 */
function defaultTilingThreads(): number {
  return Math.max(0, os.availableParallelism() - 2);
}

/**
 * Describes why runJob failed, for the main thread. A failed upload is named as the client
 * named it: where the message names the stored file, the upload's label takes its place;
 * otherwise (a file inside a zip) the label goes first.
 */
export function describeFailure(err: unknown, upload: Pick<TaskRevision, 'label' | 'stored'> | null): JobFailure {
  const cause = err instanceof FailedWithSource ? err.original : err;
  const fingerprint = err instanceof FailedWithSource ? err.fingerprint : null;
  const code = typeof (cause as { code?: unknown }).code === 'string' ? (cause as { code: string }).code : null;
  let message = (cause as Error).message ?? String(cause);
  message = message.split('\n')[0] ?? message;
  if (upload && message.startsWith(upload.stored)) message = upload.label + message.slice(upload.stored.length);
  else if (upload && !message.startsWith(upload.label)) message = `${upload.label}: ${message}`;
  return {
    message, code, fingerprint,
    transient: isTransient(code),
    cancelled: cause instanceof JobCancelledError,
  };
}

/** The named transient errors that are worth a retry: another writer held the store too long. */
export function isTransient(code: string | null): boolean {
  return code !== null && /^SQLITE_BUSY/.test(code);
}

/** Unpacks a zip upload (afresh on a retry) and picks the file to ingest; returns the layer config for the upload. */
async function prepareUpload(task: JobTask, rev: TaskRevision, ctx: JobContext): Promise<LayerToPublish> {
  if (rev.kind === 'geojson') return uploadLayer(task.layer, rev.file, []);
  ctx.report({ stage: 'ingest', progress: 0, detail: `unpacking ${rev.label}` });
  const filesDir = path.join(rev.dir, 'files');
  await rm(filesDir, { recursive: true, force: true });
  const unpacked = await unzipSafely(rev.file, filesDir, uploadUnzipLimits(task.maxUploadBytes));
  const files = unpacked.map((f) => path.join(filesDir, f));
  const source = pickSource(files, rev.label);
  new SqliteSources(ctx.store.db).setSource(rev.id, path.relative(task.dataDir, source));
  return uploadLayer(task.layer, source, files);
}

/** What an uploaded zip may unpack to: a few times the upload limit, and no bomb-like ratio. */
export function uploadUnzipLimits(maxUploadBytes: number): UnzipLimits {
  return { maxEntries: 1000, maxTotalBytes: maxUploadBytes * 4, maxRatio: 200 };
}

/** The one shapefile (or GeoJSON) of an unpacked zip; macOS metadata folders are not sources. */
function pickSource(files: string[], label: string): string {
  const real = files.filter((f) => !f.includes(`${path.sep}__MACOSX${path.sep}`) && !path.basename(f).startsWith('._'));
  const byExt = (exts: string[]): string[] => real.filter((f) => exts.includes(path.extname(f).toLowerCase()));
  const shapefiles = byExt(['.shp']);
  const candidates = shapefiles.length ? shapefiles : byExt(['.geojson', '.json']);
  if (candidates.length === 1) return candidates[0] as string;
  if (!candidates.length) throw new PipelineError({ file: label }, 'the zip holds no .shp, .geojson or .json file');
  const names = candidates.map((f) => path.basename(f)).join(', ');
  throw new PipelineError({ file: label }, `the zip holds ${candidates.length} sources (${names}); upload one layer per zip`);
}

/**
 * The layer's config for an uploaded source. The configured crs and encoding describe
 * the configured file; an upload that carries its own (a .prj, a GeoJSON crs member, a
 * .cpg) uses those, and one that states none is read as the configured file is.
 */
function uploadLayer(layer: LayerConfig, source: string, files: string[]): LayerToPublish {
  const ext = path.extname(source).toLowerCase();
  const stem = source.slice(0, -ext.length).toLowerCase();
  const has = (part: string): boolean => files.some((f) => f.toLowerCase() === stem + part);
  const isShp = ext === '.shp';
  return {
    ...layer,
    source,
    crs: undefined,
    fallbackCrs: layer.crs,
    encoding: isShp && !has('.cpg') ? layer.encoding : undefined,
  };
}
