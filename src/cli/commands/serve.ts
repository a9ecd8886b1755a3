import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../server/create-app.js';
import type { Runtime } from '../runtime.js';

/** A running server and how to stop it gracefully. */
export interface RunningServer {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** Starts the HTTP server and the change feed; resolves once listening. */
export function startServer(rt: Runtime, host: string, port: number): Promise<RunningServer> {
  const app = createApp(rt);
  rt.feed.start();
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      const addr = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${addr.port}`;
      resolve({
        server,
        url,
        stop: () =>
          new Promise<void>((done) => {
            rt.feed.stop();
            // Stop accepting, let in-flight requests finish; idle keep-alive and SSE sockets are closed.
            server.close(() => done());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), 5000).unref();
          }),
      });
    });
  });
}
