import type { LayerConfig } from '../../src/config/schema.js';
import type { JobKind, UploadKind } from '../../src/jobs/jobs.js';
import type { SourceFingerprint, SourceRead } from '../../src/store/sqlite-sources.js';
import type { PublishProgress, PublishResult } from '../publish/publish-layer.js';
import type { PriorityOutcome } from './thread-priority.js';

/** What a publish thread starts with (its workerData). */
export interface WorkerSetup {
  dataDir: string;
  /** Nice level the thread lowers itself to before anything else (tiling threads it spawns inherit it). */
  nice: number;
  /** Tiling threads each job spawns (0 = the publish thread tiles itself); default: the cores beyond two. */
  tilingThreads?: number;
}

/** An uploaded revision a job publishes, with absolute paths. */
export interface TaskRevision {
  id: number;
  kind: UploadKind;
  /** The revision's folder. */
  dir: string;
  /** The uploaded file (the GeoJSON, or the zip to unpack). */
  file: string;
  /** How the upload is named in messages: the client's file name and the revision (`upload "新耕地.zip" (r3)`), or `upload r3`. */
  label: string;
  /** The stored file's name ("parcels-r3.zip"), which ingest names; messages name the upload instead. */
  stored: string;
}

/** Everything a worker needs to run one job. */
export interface JobTask {
  jobId: number;
  kind: JobKind;
  /** The layer's config with `source` set to what this job reads (the active upload or the configured file). */
  layer: LayerConfig;
  revision: TaskRevision | null;
  dataDir: string;
  keepVersions: number;
  defaultAttribution: string;
  maxUploadBytes: number;
}

/** Main thread → worker. */
export type ToWorker = { type: 'run'; task: JobTask } | { type: 'cancel'; jobId: number };

/** A job that could not finish; `transient` errors are retried. */
export interface JobFailure {
  message: string;
  /** The error's code (SQLITE_BUSY …) when it has one. */
  code: string | null;
  transient: boolean;
  cancelled: boolean;
  /** The source as read, when reading got that far (so a scan does not retry the same bad content). */
  fingerprint: SourceFingerprint | null;
}

/** Worker → main thread. */
export type FromWorker =
  /** The thread opened the store; `priority` says whether it could lower its priority. */
  | { type: 'ready'; priority: PriorityOutcome }
  | { type: 'progress'; jobId: number; progress: PublishProgress }
  /** The source the job reads, with its files' stats taken before reading. */
  | { type: 'source'; jobId: number; read: SourceRead }
  | { type: 'done'; jobId: number; result: PublishResult }
  | { type: 'failed'; jobId: number; failure: JobFailure };
