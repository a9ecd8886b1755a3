import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type LayerConfig, type RawConfig } from './schema.js';

/** A configuration that cannot be used; the message names the file and the key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Configuration with paths made absolute and environment overrides applied. */
export interface Config extends RawConfig {
  /** Absolute path of the file it came from. */
  file: string;
  layers: (LayerConfig & { source: string })[];
}

/** The default config file, relative to the working directory. */
export const DEFAULT_CONFIG_PATH = 'config/plantiles.yaml';

/** Where the config comes from: --config, else PLANTILES_CONFIG, else the default. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return path.resolve(flag ?? nonEmpty(env.PLANTILES_CONFIG) ?? DEFAULT_CONFIG_PATH);
}

/** An environment variable set to the empty string counts as unset, as a shell's `VAR=` means. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Reads, validates and resolves a config file. Throws ConfigError naming the key and the problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  if (!existsSync(file)) throw new ConfigError(`${file}: config file not found`);
  if (statSync(file).isDirectory()) throw new ConfigError(`${file}: is a folder, not a config file`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigError(`${file}${where}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseConfig(doc ?? {}, file, env);
}

/** Validates an already-parsed config document. */
export function parseConfig(doc: unknown, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(doc);
  if (!result.success) throw new ConfigError(`${file}: ${formatIssues(result.error.issues)}`);
  const raw = result.data;
  const base = path.dirname(path.resolve(file));
  const envDataDir = nonEmpty(env.PLANTILES_DATA_DIR);
  let port = raw.server.port;
  if (env.PORT !== undefined && env.PORT !== '') {
    port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT: "${env.PORT}" is not a port number`);
  }
  return {
    ...raw,
    file: path.resolve(file),
    server: { ...raw.server, port },
    storage: { ...raw.storage, dir: envDataDir ? path.resolve(envDataDir) : path.resolve(base, raw.storage.dir) },
    layers: raw.layers.map((layer) => ({ ...layer, source: path.resolve(base, layer.source) })),
  };
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const key = issue.path.length ? formatPath(issue.path) : '(top level)';
      if (issue.code === 'unrecognized_keys') {
        return `${key === '(top level)' ? '' : key + '.'}${issue.keys.join(', ')}: unknown key`;
      }
      return `${key}: ${issue.message}`;
    })
    .join('; ');
}

/** A zod issue's path as a config key or JSON field: `layers[0].id`. */
export function formatPath(parts: readonly PropertyKey[]): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}
