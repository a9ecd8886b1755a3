import path from 'node:path';
import Database from 'better-sqlite3';
import { PipelineError } from '../pipeline-error.js';
import { knownCrs } from './crs-registry.js';
import { parseGpkgGeometry, WkbError } from './parse-wkb.js';
import type { OpenedSource, PropertyValue, ReaderOptions, RecordRecaller, SourceFeature } from './source-feature.js';

interface Column {
  name: string;
  type: string;
}

interface FeatureTable {
  table: string;
  geometryColumn: string;
  srsId: number;
  fid: string | null;
  columns: Column[];
}

/** Opens a GeoPackage's feature table (the only one, or the layer's sourceLayer), read-only. */
export async function readGeopackage(file: string, options: ReaderOptions): Promise<OpenedSource> {
  const name = path.basename(file);
  const fail = (problem: string): never => { throw new PipelineError({ file: name }, problem); };
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('schema_version');
  } catch (err) {
    return fail(`is not a GeoPackage (cannot open it as SQLite: ${(err as Error).message})`);
  }
  try {
    const table = describeTable(db, options.sourceLayer, fail);
    const crs = crsOf(db, table.srsId, fail);
    return {
      // A row's values read the same under the same table and column types.
      info: { ...crs, fieldNames: table.columns.map((c) => c.name), recordContext: JSON.stringify([table.table, table.geometryColumn, table.columns]) },
      features: iterate(db, table, name, options.recall),
      close: async () => { db.close(); },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

function describeTable(db: Database.Database, wanted: string | undefined, fail: (p: string) => never): FeatureTable {
  const hasContents = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('gpkg_contents', 'gpkg_geometry_columns', 'gpkg_spatial_ref_sys')").get() as { n: number };
  if (hasContents.n < 3) fail('is not a GeoPackage: gpkg_contents, gpkg_geometry_columns or gpkg_spatial_ref_sys is missing');
  const tables = (db.prepare("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name").all() as { table_name: string }[]).map((r) => r.table_name);
  let table: string;
  if (wanted !== undefined) {
    if (!tables.includes(wanted)) fail(`has no feature table "${wanted}" (it has: ${tables.join(', ') || 'none'})`);
    table = wanted;
  } else if (tables.length === 1) {
    table = tables[0] as string;
  } else {
    return fail(tables.length ? `has ${tables.length} feature tables (${tables.join(', ')}); set the layer's sourceLayer` : 'has no feature tables');
  }
  const geom = db.prepare('SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?').get(table) as { column_name: string; srs_id: number } | undefined;
  if (!geom) return fail(`the feature table "${table}" has no entry in gpkg_geometry_columns`);
  const info = db.prepare('SELECT name, type, pk FROM pragma_table_info(?)').all(table) as { name: string; type: string; pk: number }[];
  const fid = info.find((c) => c.pk > 0)?.name ?? null;
  const columns = info.filter((c) => c.name !== geom.column_name && c.name !== fid).map((c) => ({ name: c.name, type: c.type.toUpperCase() }));
  return { table, geometryColumn: geom.column_name, srsId: geom.srs_id, fid, columns };
}

function crsOf(db: Database.Database, srsId: number, fail: (p: string) => never): { crs: string | null; crsOrigin: string; missingCrs?: string } {
  const origin = `the GeoPackage SRS ${srsId}`;
  if (srsId === 0 || srsId === -1) return { crs: null, crsOrigin: origin, missingCrs: `the GeoPackage's SRS is undefined (srs_id ${srsId})` };
  // GeoPackage 1.2's WKT 2 column (gpkg_crs_wkt extension) holds what WKT 1 cannot, e.g. 3D CRSs.
  const hasWkt2 = (db.prepare("SELECT count(*) AS n FROM pragma_table_info('gpkg_spatial_ref_sys') WHERE name = 'definition_12_063'").get() as { n: number }).n > 0;
  const row = db.prepare(`SELECT organization, organization_coordsys_id AS code, definition${hasWkt2 ? ', definition_12_063 AS wkt2' : ''} FROM gpkg_spatial_ref_sys WHERE srs_id = ?`).get(srsId) as
    { organization: string | null; code: number | null; definition: string | null; wkt2?: string | null } | undefined;
  if (!row) return fail(`the SRS ${srsId} of the feature table is not in gpkg_spatial_ref_sys`);
  const epsg = row.organization?.toUpperCase() === 'EPSG' && row.code !== null ? `EPSG:${row.code}` : null;
  if (epsg && knownCrs(epsg)) return { crs: epsg, crsOrigin: origin };
  const definition = [row.definition, row.wkt2].map((d) => d?.trim()).find((d) => d && d.toLowerCase() !== 'undefined');
  if (definition) return { crs: definition, crsOrigin: `${origin} definition` };
  return { crs: epsg, crsOrigin: origin, missingCrs: `the GeoPackage's SRS ${srsId} has no definition` };
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function* iterate(db: Database.Database, t: FeatureTable, name: string, recall: RecordRecaller | undefined): AsyncGenerator<SourceFeature> {
  const columns = [t.geometryColumn, ...t.columns.map((c) => c.name)].map(quoteIdentifier).join(', ');
  const order = t.fid ? ` ORDER BY ${quoteIdentifier(t.fid)}` : ' ORDER BY rowid';
  const stmt = db.prepare(`SELECT ${columns} FROM ${quoteIdentifier(t.table)}${order}`).raw(true).safeIntegers(true);
  let index = 0;
  for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
    const at = index++;
    const parse = (): SourceFeature => {
      let geometry: unknown;
      try {
        geometry = parseGpkgGeometry(row[0] as Uint8Array | null).geometry;
      } catch (err) {
        if (err instanceof WkbError) throw new PipelineError({ file: name, feature: `#${at}` }, err.message);
        throw err;
      }
      const properties: Record<string, PropertyValue> = {};
      t.columns.forEach((c, i) => {
        const value = toValue(row[i + 1], c.type);
        if (value !== undefined) properties[c.name] = value;
      });
      return { index: at, geometry, properties };
    };
    if (!recall) {
      yield parse();
      continue;
    }
    // The record is the geometry blob and the row's values, each written with its SQLite type.
    const raw = Buffer.concat([row[0] instanceof Uint8Array ? row[0] : Buffer.alloc(0), Buffer.from(`\u0000${rowText(row.slice(1))}`, 'utf8')]);
    const { digest, previous } = recall.recall(raw);
    const described = { digest, length: raw.length };
    yield previous >= 0
      ? { index: at, geometry: null, properties: {}, ...described, recalled: { previous, parse: () => ({ ...parse(), ...described }) } }
      : { ...parse(), ...described };
  }
}

/** A row's values as text that tells every value and its type apart. */
function rowText(values: readonly unknown[]): string {
  return values.map((v) => {
    if (typeof v === 'bigint') return `i${v}`;
    if (v instanceof Uint8Array) return `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
    return JSON.stringify(v) ?? 'u';
  }).join('\u0001');
}

/** SQLite values by declared GeoPackage column type; integers past 2^53 become digit strings. */
function toValue(v: unknown, type: string): PropertyValue | undefined {
  if (v === null || v === undefined || v instanceof Uint8Array) return undefined;
  if (typeof v === 'bigint') {
    if (type === 'BOOLEAN') return v !== 0n;
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v.toString();
  }
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const trimmed = v.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  return undefined;
}
