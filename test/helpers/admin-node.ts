import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from '../../src/config/load-config.js';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import type { Job } from '../../src/jobs/jobs.js';
import { parcelConfig } from './fixtures.js';

/** Secrets of the test tokens, by token name. */
export const TOKENS = {
  city: 'city-secret-4f9a1c2e7b3d5a60',
  gaotang: 'gaotang-secret-9e8d7c6b5a4f3e21',
} as const;

/** The environment holding the test tokens' secrets. */
export const TOKEN_ENV: Record<string, string> = { CITY_TOKEN: TOKENS.city, GAOTANG_TOKEN: TOKENS.gaotang };

/** A parcel-layer config with a city-wide token and a county token that covers only `gaotang-*`. */
export function adminConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...parcelConfig(),
    admin: {
      tokens: [
        { name: 'city', env: 'CITY_TOKEN', layers: ['*'] },
        { name: 'gaotang', env: 'GAOTANG_TOKEN', layers: ['gaotang-*'] },
      ],
    },
    ...extra,
  };
}

/** A real node with its job system running: publish threads, the runner, the scheduler if configured. */
export interface AdminNode {
  dir: string;
  rt: Runtime;
  server: RunningServer;
  url: string;
  stop(): Promise<void>;
}

/** Starts a node the way `plantiles serve` does, with tokens from `env`. */
export async function startAdminNode(config: Config, env: Record<string, string> = TOKEN_ENV, logger: Logger = pino({ level: 'silent' })): Promise<AdminNode> {
  const rt = openRuntime(config, logger, env);
  rt.auth.warnAtStart(logger);
  await rt.jobs.start();
  const server = await startServer(rt, '127.0.0.1', 0);
  return {
    dir: path.dirname(config.file),
    rt,
    server,
    url: server.url,
    stop: async () => {
      await Promise.all([server.stop(1000), rt.jobs.stop()]);
      rt.close();
    },
  };
}

/** The Authorization header of a token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

const FINISHED = new Set(['succeeded', 'unchanged', 'failed']);

/**
 * Polls GET /admin/jobs/{id} until the job is finished (or `until` holds). A poll whose
 * kept-alive connection the server closed just as it was reused (ECONNRESET) is sent
 * again: a server in this process that waited on a locked store for seconds finds its
 * keep-alive timers expired the moment it resumes, while this client reuses the socket.
 */
export async function waitForJob(url: string, id: number, until: (job: Job) => boolean = (j) => FINISHED.has(j.state), timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(`${url}/admin/jobs/${id}`, { headers: bearer(TOKENS.city) });
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET' || Date.now() > deadline) throw err;
      continue;
    }
    const job = (await res.json()) as Job;
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Queues a publish through the API and waits for its outcome. */
export async function publishViaApi(url: string, layer: string): Promise<Job> {
  const res = await fetch(`${url}/admin/layers/${layer}/publish`, { method: 'POST', headers: bearer(TOKENS.city) });
  if (res.status !== 202) throw new Error(`publish ${layer}: HTTP ${res.status} ${await res.text()}`);
  const job = (await res.json()) as Job;
  return waitForJob(url, job.id);
}
