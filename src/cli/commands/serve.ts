import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { AppDeps } from '../../server/create-app.js';
import type { Metrics } from '../../server/metrics.js';
import { createFront } from '../../server/request-listener.js';
import { CliError } from '../cli-error.js';
import type { Runtime } from '../runtime.js';

/** A running server and how to stop it gracefully. */
export interface RunningServer {
  server: Server;
  url: string;
  /** The Express app behind the tile fast path (its router lists the mounted routes). */
  app: Express;
  /** The server's metrics; the publish jobs of this process's job system are recorded in them. */
  metrics: Metrics;
  /** Stops accepting, ends SSE streams, lets in-flight requests finish (at most `drainMs`), then resolves. */
  stop(drainMs?: number): Promise<void>;
}

/** How long in-flight requests may take to finish after a stop, by default. */
const DRAIN_MS = 10_000;

/** Starts the HTTP server and the change feed; resolves once listening. `extra` adds app deps (mirrors, metrics). */
export function startServer(rt: Runtime, host: string, port: number, extra: Partial<AppDeps> = {}): Promise<RunningServer> {
  const front = createFront({ ...rt, ...extra });
  return new Promise((resolve, reject) => {
    const server = createServer(front.listener);
    server.once('error', (err) => reject(listenError(err, host, port)));
    server.listen(port, host, () => {
      rt.feed.start();
      const addr = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${addr.port}`;
      resolve({ server, url, app: front.app, metrics: front.metrics, stop: (drainMs) => stopServer(rt, server, front.endStreams, drainMs ?? DRAIN_MS) });
    });
  });
}

/**
 * Fails as listening on host:port would (a port in use, a privileged port, an address this
 * machine does not have), before the work that precedes serving: `start` publishes first.
 */
export function checkCanListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (err) => reject(listenError(err, host, port)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** A listen failure the operator can act on: one line naming the address, the reason and what sets it. */
function listenError(err: Error, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'EADDRINUSE' ? 'the port is in use (another plantiles, or another program?)'
    : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
      : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? 'this machine has no such address'
        : null;
  if (!reason) return err;
  return new CliError(`cannot listen on ${host}:${port}: ${reason}; set PORT or server.port (and server.host or --host)`);
}

/**
 * Graceful stop: no new connections; SSE streams end (clients reconnect elsewhere
 * with Last-Event-ID); idle keep-alive sockets close at once and busy ones as soon
 * as their response is done; whatever is still running after `drainMs` is cut.
 */
function stopServer(rt: Runtime, server: Server, endStreams: () => void, drainMs: number): Promise<void> {
  return new Promise((done) => {
    rt.feed.closeStreams();
    endStreams();
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => {
      rt.logger.warn({ drainMs }, 'in-flight requests still running at the drain deadline; closing them');
      server.closeAllConnections();
    }, drainMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      done();
    });
    server.closeIdleConnections();
  });
}
