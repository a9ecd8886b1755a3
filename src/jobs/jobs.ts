import type { Readable } from 'node:stream';

/** Where a job is in its life: queued → running → succeeded | unchanged | failed. */
export type JobState = 'queued' | 'running' | 'succeeded' | 'unchanged' | 'failed';

/** What a job does: republish a layer from its source, or publish an uploaded source revision. */
export type JobKind = 'publish' | 'upload';

/** A job as the admin API shows it (SPEC §3.3). */
export interface Job {
  id: number;
  layer: string;
  kind: JobKind;
  state: JobState;
  /** 0–1 over the whole publish. */
  progress: number;
  /** The publish stage (ingest, tile, commit, done), or null while queued. */
  stage: string | null;
  detail: string | null;
  /** The version the job made current (or found unchanged). */
  version: string | null;
  /** One line naming the file, the feature and the problem, for a failed job. */
  error: string | null;
  /** The uploaded source revision an upload job publishes. */
  revision: number | null;
  /** Token name, "scheduler" or "cli". */
  requestedBy: string;
  /** How many times the job started (transient errors are retried). */
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The body format of an uploaded source. */
export type UploadKind = 'geojson' | 'zip';

/** An upload as the server hands it over: a body stream, not a buffer. */
export interface UploadRequest {
  kind: UploadKind;
  body: Readable;
  /** The client's file name, for display only (never a path). */
  name: string | null;
  requestedBy: string;
}

/** A stored upload of a layer's source, kept beside the previous ones. */
export interface SourceRevision {
  id: number;
  layer: string;
  kind: UploadKind;
  /** receiving → received → active (the layer's source) → superseded; or rejected. */
  state: 'receiving' | 'received' | 'active' | 'superseded' | 'rejected';
  name: string | null;
  bytes: number;
  sha256: string | null;
  uploadedBy: string;
  uploadedAt: string;
  error: string | null;
}

/** The outcome of asking for a publish: the job, and whether an already queued one was joined. */
export interface EnqueueResult {
  job: Job;
  joined: boolean;
}

/** Filters of a job listing. */
export interface JobFilter {
  /** Only jobs of layers this predicate accepts. */
  layer?: (layer: string) => boolean;
  limit?: number;
}

/** Why a jobs request was refused; the server maps the code to a status. */
export type JobsErrorCode = 'unknown-layer' | 'too-large' | 'upload-aborted' | 'not-running' | 'mirrored';

/** An error of the job system, carrying the layer it concerns. */
export class JobsError extends Error {
  override readonly name = 'JobsError';
  constructor(readonly code: JobsErrorCode, message: string, readonly layer?: string) {
    super(message);
  }
}

/** The narrow job interface the server uses; the pipeline implements it. */
export interface Jobs {
  /** Queues a publish of a configured layer, joining a job already queued for it. */
  enqueuePublish(layer: string, requestedBy: string): EnqueueResult;
  /** Streams an upload to disk (size-limited) as a new source revision, then queues its publish. */
  enqueueUpload(layer: string, upload: UploadRequest): Promise<Job>;
  /**
   * Throws JobsError when this node refuses to publish `layer`: not configured here, mirrored
   * from another node, or no jobs in this process. Both enqueues check it; a route may ask first.
   */
  assertPublishable(layer: string): void;
  get(id: number): Job | null;
  /** Jobs newest first. */
  list(filter?: JobFilter): Job[];
  /** A layer's uploaded source revisions, newest first. */
  revisions(layer: string): SourceRevision[];
  /** Calls `listener` with each job change (state or progress); returns the unsubscribe function. */
  subscribe(listener: (job: Job) => void): () => void;
}
