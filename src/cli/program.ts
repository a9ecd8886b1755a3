import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { checkLayerConfigs } from '../../pipeline/ingest/check-layer-config.js';
import { ConfigError, loadConfig, resolveConfigPath, type Config } from '../config/load-config.js';
import { isLayerId } from '../domain/layer-id.js';
import { parseVersionTag } from '../domain/version-tag.js';
import { storeExists } from '../store/sqlite-store.js';
import { StoreError } from '../store/store-error.js';
import { CliError, UsageError } from './cli-error.js';
import { publishLayers, selectLayers } from './commands/publish.js';
import { lateMirrorStatus, refuseMirrored, startConfiguredMirrors, syncOnce, type SyncCommandOptions } from './commands/sync.js';
import { listVersions } from './commands/versions.js';
import { createLogger, openRuntime, type Runtime } from './runtime.js';

type Global = { config?: string };

/**
 * Builds the command line; actions throw CliError/UsageError, the entry point maps them to
 * exit codes. A command loads what only it needs (the server, the exporter, the demo
 * generator) when it runs: `plantiles publish` starts without compiling Express.
 */
export function buildProgram(): Command {
  const program = new Command('plantiles')
    .description('Versioned vector tiles for a territorial spatial planning one map')
    .option('-c, --config <file>', 'config file (default config/plantiles.yaml, or PLANTILES_CONFIG)')
    .exitOverride()
    .showHelpAfterError();

  program.command('serve').description('serve tiles, catalog, change feed and viewer')
    .option('--host <host>', 'listen address (overrides server.host)')
    .action(async (opts: { host?: string }) => {
      const rt = open(program.opts<Global>(), 'info', 1);
      await serveUntilSignal(rt, opts.host);
    });

  program.command('start').description('the demo: write its sources if missing, publish every layer, serve')
    .option('--host <host>', 'listen address (overrides server.host)')
    .action(async (opts: { host?: string }) => {
      const config = load(program.opts<Global>());
      // A port in use is found now, not after publishing every layer.
      const { checkCanListen } = await import('./commands/serve.js');
      await checkCanListen(opts.host ?? config.server.host, config.server.port);
      await ensureDemoSources(config);
      const rt = openRuntime(config, createLogger('info', 1));
      try {
        await publishLayers(rt, config.layers, {});
      } catch (err) {
        // The layers that did publish (and every earlier version) are still worth serving.
        if (!(err instanceof CliError)) throw err;
        console.error(`plantiles: ${err.message}; serving what is published`);
      }
      printAdminHint(config);
      await serveUntilSignal(rt, opts.host);
    });

  program.command('publish').description('publish layers now').argument('[layers...]', 'layer ids')
    .option('--all', 'every configured layer').option('--json', 'one JSON line per event')
    .action(async (layers: string[], opts: { all?: boolean; json?: boolean }) => {
      const config = load(program.opts<Global>());
      // A layer this node mirrors is not configured here: say whose it is rather than "unknown".
      const unconfigured = layers.filter((id) => isLayerId(id) && !config.layers.some((l) => l.id === id));
      if (unconfigured.length && !opts.all) await withRuntime(config, (rt) => refuseMirrored(rt, unconfigured, 'publish'));
      const selected = selectLayers(config, layers, opts.all ?? false);
      await withRuntime(config, (rt) => {
        refuseMirrored(rt, selected.map((l) => l.id), 'publish');
        return publishLayers(rt, selected, opts);
      });
    });

  program.command('versions').description("list a layer's versions").argument('<layer>')
    .option('--json', 'one JSON line per version')
    .action(async (layer: string, opts: { json?: boolean }) => {
      assertLayerId(layer);
      await withExistingStore(load(program.opts<Global>()), (rt) => listVersions(rt, layer, opts.json ?? false));
    });

  program.command('rollback').description('make an older version current again').argument('<layer>').argument('<version>')
    .action(async (layer: string, version: string) => {
      assertLayerId(layer);
      if (!parseVersionTag(version)) throw new UsageError(`"${version}" is not a version tag (major.minor.patch, such as 1.2.0)`);
      await withExistingStore(load(program.opts<Global>()), (rt) => {
        refuseMirrored(rt, [layer], 'roll back');
        try {
          const e = rt.store.rollback(layer, version);
          if (!e) {
            console.log(`${layer}: version ${version} is already current`);
            return;
          }
          rt.audit.tryRecord({ actor: 'cli', action: 'rollback', layer, status: 0, result: `current version is now ${e.version} (was ${e.previous ?? 'none'})`, detail: { version, previous: e.previous, seq: e.seq }, remote: null });
          console.log(`${layer}: current version is now ${e.version} (was ${e.previous ?? 'none'})`);
        } catch (err) {
          if (err instanceof StoreError) throw new CliError(err.message);
          throw err;
        }
      });
    });

  program.command('sync').description('one catch-up pass from an upstream node (or each configured mirror), then exit')
    .option('--upstream <url>', 'the upstream plantiles node (default: the configured mirrors)')
    .option('--layers <patterns...>', 'upstream layer ids or patterns with * (default all)')
    .option('--prefix <prefix>', 'prefix of the local layer ids (default none)')
    .option('--concurrency <n>', 'tile requests in flight (default 8)')
    .option('--json', 'one JSON line per layer')
    .action(async (opts: SyncCommandOptions) => {
      await withRuntime(load(program.opts<Global>()), (rt) => syncOnce(rt, opts));
    });

  program.command('export').description('write one version to an MBTiles 1.3 or PMTiles v3 file')
    .argument('<layer>', 'layer id, or layer@version (default: the current version)')
    .argument('<file>', 'output file: *.mbtiles or *.pmtiles')
    .option('--json', 'print the result as one JSON line')
    .option('--force', 'replace the file if it exists')
    .action(async (layer: string, file: string, opts: { json?: boolean; force?: boolean }) => {
      const { exportCommand } = await import('./commands/export.js');
      await withExistingStore(load(program.opts<Global>()), (rt) => { exportCommand(rt, layer, file, { json: opts.json ?? false, force: opts.force ?? false }); });
    });

  program.command('demo').description('write the synthetic demo sources').argument('[dir]', 'output folder', 'demo')
    .action(async (dir: string) => {
      const { generateDemo } = await import('../../pipeline/demo/generate-demo.js');
      const summary = await generateDemo(path.resolve(dir));
      console.log(`synthetic demo written to ${summary.dir}: ${Object.entries(summary.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    });

  return program;
}

/** A layer id outside the pattern is a usage error, before any store is opened. */
function assertLayerId(id: string): void {
  if (!isLayerId(id)) throw new UsageError(`"${id}" is not a layer id (letters, digits, _ . -; up to 64, starting with a letter or digit)`);
}

/** The config of this command, with what ingest would refuse in a layer reported now (ConfigError), not at its first publish. */
function load(global: Global): Config {
  const config = loadConfig(resolveConfigPath(global.config, process.env));
  const problems = checkLayerConfigs(config.layers);
  if (problems.length) throw new ConfigError(`${config.file}: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`);
  return config;
}

function open(global: Global, level: string, fd: 1 | 2): Runtime {
  return openRuntime(load(global), createLogger(level, fd));
}

async function withRuntime<T>(config: Config, fn: (rt: Runtime) => T | Promise<T>): Promise<T> {
  const rt = openRuntime(config, createLogger('warn', 2));
  try {
    return await fn(rt);
  } finally {
    rt.close();
  }
}

/**
 * For the commands that read the store, and rollback: where there is no store they fail
 * rather than create an empty one (a mistyped storage.dir or PLANTILES_DATA_DIR).
 */
async function withExistingStore<T>(config: Config, fn: (rt: Runtime) => T | Promise<T>): Promise<T> {
  const dir = config.storage.dir;
  if (!storeExists(dir)) throw new CliError(`no tile store in ${dir} (nothing has been published there; check storage.dir or PLANTILES_DATA_DIR)`);
  return withRuntime(config, fn);
}

async function serveUntilSignal(rt: Runtime, host: string | undefined): Promise<void> {
  // The mirrors start once the server listens; GET /mirrors reports them from then on.
  let mirrors: ReturnType<typeof startConfiguredMirrors> | null = null;
  rt.auth.warnAtStart(rt.logger);
  warnMissingSources(rt);
  // Jobs recover (a crash's interrupted jobs are marked failed) before the admin API can queue new ones.
  await rt.jobs.start();
  const { startServer } = await import('./commands/serve.js');
  const running = await startServer(rt, host ?? rt.config.server.host, rt.config.server.port, { mirrors: lateMirrorStatus(() => mirrors) })
    .catch(async (err: unknown) => { await rt.jobs.stop(); throw err; });
  mirrors = startConfiguredMirrors(rt);
  rt.logger.info({ url: running.url }, 'serving');
  console.log(`plantiles serving ${rt.config.node.title} at ${running.url}`);
  await new Promise<void>((resolve) => {
    const shutdown = (): void => {
      rt.logger.info('shutting down');
      void (mirrors?.stop() ?? Promise.resolve()).then(() => Promise.all([running.stop(), rt.jobs.stop()])).then(() => { rt.close(); resolve(); });
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}

/** Says at start which configured layers have no source file to publish from (the active upload, else the configured file). */
function warnMissingSources(rt: Runtime): void {
  for (const layer of rt.config.layers) {
    const source = rt.jobs.publishSource(layer).file;
    if (existsSync(source)) continue;
    const published = rt.store.getLayer(layer.id)?.currentVid != null;
    const what = published ? 'its published versions are served; a publish fails until the file exists' : 'nothing to serve for it until the file exists and is published';
    rt.logger.warn({ layer: layer.id, source }, `source not found: ${what}`);
    console.log(`warning: layer "${layer.id}": source ${source} not found (${what})`);
  }
}

/** Writes the demo sources when the config's sources are demo files that are missing. */
async function ensureDemoSources(config: Config): Promise<void> {
  const missing = config.layers.filter((l) => !existsSync(l.source));
  if (!missing.length) return;
  const { DEMO_SOURCE_FILES, generateDemo } = await import('../../pipeline/demo/generate-demo.js');
  const names = new Set(DEMO_SOURCE_FILES);
  const notDemo = missing.filter((l) => !names.has(path.basename(l.source)));
  if (notDemo.length) throw new CliError(`source not found: ${notDemo.map((l) => l.source).join(', ')}`);
  const dir = path.dirname((missing[0] as Config['layers'][number]).source);
  console.log(`writing the synthetic demo city to ${dir} …`);
  await generateDemo(dir);
}

function printAdminHint(config: Config): void {
  const token = config.admin.tokens[0];
  if (token && !process.env[token.env]) {
    console.log(`admin is disabled: set ${token.env}=<a secret> to enable the admin API (Authorization: Bearer <secret>)`);
  }
}

/** Maps an error to the process exit code: 2 usage, 1 failure. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return 2;
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  return 1;
}
