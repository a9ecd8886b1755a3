import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startProcess, type BenchProcess } from './serving-procs.js';

/** The deployment config the docs recommend; the benchmark runs it with its own ports and paths. */
export const DEPLOY_CONF = path.join('docs', 'deploy', 'plantiles.nginx.conf');

/** The top of an nginx.conf that runs unprivileged-style from a scratch folder, on loopback only. */
function mainConf(prefix: string, httpBody: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${path.join(prefix, 'tmp', t)};`).join('\n');
  // As root, workers would otherwise switch to "nobody", who cannot read the scratch folder.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  return `${user}worker_processes 2;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
${temp}
    access_log ${path.join(prefix, 'access.log')} combined buffer=64k flush=1s;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types { }
    default_type application/octet-stream;
${httpBody}
}
`;
}

/** nginx serving a folder of pre-gzipped tiles ({layer}/{z}/{x}/{y}.mvt) as static files. */
export function staticConf(prefix: string, port: number, root: string): string {
  return mainConf(prefix, `    open_file_cache max=100000 inactive=60s;
    server {
        listen 127.0.0.1:${port};
        root ${root};
        location / {
            default_type application/vnd.mapbox-vector-tile;
            add_header Content-Encoding gzip;
            add_header Cache-Control "public, max-age=31536000, immutable";
        }
    }`);
}

/**
 * The docs' deployment config with this run's ports and cache folder. Fails when the
 * docs' file no longer has the lines it substitutes, so the benchmark tests the docs.
 */
export function proxyConf(prefix: string, port: number, upstreamPorts: readonly number[]): string {
  let conf = readFileSync(DEPLOY_CONF, 'utf8');
  const swap = (pattern: RegExp, replacement: string, what: string): void => {
    if (!pattern.test(conf)) throw new Error(`${DEPLOY_CONF}: ${what} not found; the benchmark substitutes it`);
    conf = conf.replace(pattern, replacement);
  };
  swap(/proxy_cache_path \/var\/cache\/nginx\/plantiles /, `proxy_cache_path ${path.join(prefix, 'cache')} `, 'proxy_cache_path /var/cache/nginx/plantiles');
  swap(/listen 80;/, `listen 127.0.0.1:${port};`, 'listen 80;');
  const servers = upstreamPorts.map((p) => `    server 127.0.0.1:${p};`).join('\n');
  swap(/upstream plantiles \{\n(?:\s*#.*\n)*(?:\s*server 127\.0\.0\.1:\d+;\n)+/, `upstream plantiles {\n${servers}\n`, 'upstream plantiles { server …; }');
  swap(/upstream plantiles_writer \{\n\s*server 127\.0\.0\.1:\d+;/, `upstream plantiles_writer {\n    server 127.0.0.1:${upstreamPorts[0] ?? 0};`, 'upstream plantiles_writer');
  return mainConf(prefix, conf.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n'));
}

/** Writes a config into its own prefix folder and starts nginx in the foreground. */
export function startNginx(name: string, prefix: string, conf: string): BenchProcess {
  for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(prefix, 'tmp', t), { recursive: true });
  const file = path.join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  return startProcess(name, 'nginx', ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', file, '-g', 'daemon off;'], path.join(prefix, 'stdout.log'));
}
