import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

/** The built CLI every cluster node runs (run `npm run build` first). */
export const CLI = path.resolve('dist/src/cli/main.js');

/** The environment of child processes: the parent's, without what would point them at another config or store. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { PLANTILES_CONFIG: _config, PLANTILES_DATA_DIR: _data, PORT: _port, ...env } = process.env;
  return { ...env, ...extra };
}

/**
 * A real `plantiles serve` child process with its own config and data dir, on a
 * loopback port. Several of them make a city–county cluster.
 */
export class ClusterNode {
  private proc: ChildProcess | null = null;
  private output = '';
  /** Base URL once started, e.g. http://127.0.0.1:43121. */
  url = '';
  port = 0;

  private constructor(readonly dir: string, readonly configFile: string) {}

  /** Writes `doc` as the node's config in `dir` and starts it (port 0 = pick one, else that port). */
  static async start(dir: string, doc: Record<string, unknown>, port = 0): Promise<ClusterNode> {
    mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'plantiles.yaml');
    writeFileSync(configFile, stringify({ storage: { dir: './store', keepVersions: 5 }, ...doc, server: { host: '127.0.0.1', port } }));
    const node = new ClusterNode(dir, configFile);
    await node.launch(port);
    return node;
  }

  /** Everything the process wrote to stdout and stderr. */
  get logs(): string {
    return this.output;
  }

  /** Starts the process again on the same port (after stop or kill). */
  async restart(): Promise<void> {
    await this.launch(this.port);
  }

  /** SIGTERM and wait for the exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGKILL and wait for the exit: the node dies mid-whatever. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Runs another CLI command on the node's config (and so its data dir), as a separate process. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runCli(['--config', this.configFile, ...args]);
  }

  /** `plantiles publish <layer> --json` against the node's data dir; resolves once the serving process serves it. */
  async publish(layer: string): Promise<{ state: string; version: string }> {
    const r = await this.cli(['publish', layer, '--json']);
    if (r.code !== 0) throw new Error(`publish ${layer} failed (${r.code}): ${r.stderr}`);
    const last = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; state: string; version: string }).filter((e) => e.event === 'result').pop();
    if (!last) throw new Error(`publish ${layer} printed no result: ${r.stdout}`);
    await waitFor(`${this.url} to serve ${layer} ${last.version}`, async () => ((await currentVersion(this.url, layer)) === last.version ? true : undefined), 10_000, 50);
    return last;
  }

  private async launch(port: number): Promise<void> {
    this.output = '';
    const proc = spawn(process.execPath, [CLI, '--config', this.configFile, 'serve'], {
      env: childEnv({ PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node in ${this.dir} did not start:\n${this.output}`)), 30_000);
      proc.stdout?.on('data', (d: Buffer) => {
        this.output += d.toString();
        const m = /serving .* at (http:\/\/\S+)/.exec(this.output);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`node in ${this.dir} exited with ${code}:\n${this.output}`));
      });
    });
    this.port = Number(new URL(this.url).port);
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(sig);
    await exited;
    this.proc = null;
  }
}

/** Runs the built CLI asynchronously (the test process keeps serving its proxies meanwhile). */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** GETs JSON from a node. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** The current version a node serves for a layer, or undefined when it has none. */
export async function currentVersion(baseUrl: string, layer: string): Promise<string | undefined> {
  const res = await fetch(`${baseUrl}/tiles/${layer}.json`);
  if (res.status !== 200) return undefined;
  return ((await res.json()) as { version: string }).version;
}

/** Every tile of a version as "z/x/y" → hash, read through the diff from nothing. */
export async function tileHashes(baseUrl: string, layer: string, version: string): Promise<Map<string, string>> {
  const res = await fetch(`${baseUrl}/tiles/${layer}@${version}/diff/0.0.0`);
  if (res.status !== 200) throw new Error(`diff of ${layer}@${version}: ${res.status}`);
  const out = new Map<string, string>();
  for (const line of (await res.text()).split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { z: number; x: number; y: number; hash: string };
    out.set(`${e.z}/${e.x}/${e.y}`, e.hash);
  }
  return out;
}

/** A tile's bytes and headers as a client asking for gzip gets them (fetch would decode; this does not). */
export async function rawTile(baseUrl: string, layer: string, version: string, zxy: string): Promise<{ status: number; etag: string | null; body: Buffer }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/tiles/${layer}@${version}/${zxy}.mvt`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: (res.headers.etag as string | undefined) ?? null, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
