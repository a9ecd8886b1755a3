import { PbfReader } from 'pbf';

/** What a valid tile must also respect besides the MVT 2.1 rules. */
export interface ValidateOptions {
  /** Geometry may reach this far outside the extent (tile units). */
  buffer: number;
}

interface RawFeature {
  id: number | undefined;
  type: number;
  tags: number[];
  geometry: number[];
}

interface RawLayer {
  version: number;
  name: string;
  extent: number;
  keys: string[];
  values: number;
  badValues: number;
  features: RawFeature[];
}

/**
 * Checks plain MVT bytes against the MVT 2.1 specification, reading the protobuf
 * itself (decoders are lenient): layer version 2, name and extent; tags in pairs that
 * index existing keys and values, each value one field; unique feature ids; geometry
 * command encoding per type (MoveTo/LineTo counts, ClosePath only on polygons, no
 * zero-length LineTo); polygon rings of at least four points (the closing one implied)
 * with non-zero area, the first ring of each feature exterior (positive area by the
 * surveyor's formula with y down); every position within the extent plus `buffer`.
 * Returns the problems found (empty = valid).
 */
export function validateMvt(bytes: Uint8Array, options: ValidateOptions): string[] {
  const problems: string[] = [];
  let layers: RawLayer[];
  try {
    layers = readLayers(bytes);
  } catch (err) {
    return [`not a protobuf tile: ${(err as Error).message}`];
  }
  if (!layers.length) problems.push('no layers');
  for (const layer of layers) problems.push(...validateLayer(layer, options).map((p) => `layer ${layer.name}: ${p}`));
  return problems;
}

function validateLayer(layer: RawLayer, options: ValidateOptions): string[] {
  const problems: string[] = [];
  if (layer.version !== 2) problems.push(`version ${layer.version}, expected 2`);
  if (!layer.name) problems.push('no name');
  if (!(layer.extent > 0)) problems.push(`extent ${layer.extent}`);
  if (layer.badValues) problems.push(`${layer.badValues} value(s) without exactly one field`);
  const ids = new Set<number>();
  layer.features.forEach((f, k) => {
    const where = `feature ${k} (id ${f.id ?? 'none'})`;
    if (f.id !== undefined) {
      if (ids.has(f.id)) problems.push(`${where}: duplicate id`);
      ids.add(f.id);
    }
    if (f.tags.length % 2) problems.push(`${where}: odd number of tags`);
    for (let t = 0; t < f.tags.length; t += 2) {
      if ((f.tags[t] as number) >= layer.keys.length) problems.push(`${where}: tag key ${f.tags[t]} out of range`);
      if ((f.tags[t + 1] as number) >= layer.values) problems.push(`${where}: tag value ${f.tags[t + 1]} out of range`);
    }
    problems.push(...validateGeometry(f, layer.extent, options.buffer).map((p) => `${where}: ${p}`));
  });
  return problems;
}

type Ring = [number, number][];

/** Decodes the command stream of one feature, checking its encoding; returns problems. */
function validateGeometry(f: RawFeature, extent: number, buffer: number): string[] {
  if (f.type < 1 || f.type > 3) return [`geometry type ${f.type}`];
  const problems: string[] = [];
  const rings: Ring[] = [];
  const closed: boolean[] = [];
  const g = f.geometry;
  let x = 0;
  let y = 0;
  let i = 0;
  const inBounds = (px: number, py: number): boolean => px >= -buffer && px <= extent + buffer && py >= -buffer && py <= extent + buffer;
  while (i < g.length) {
    const cmd = (g[i] as number) & 7;
    const count = (g[i] as number) >> 3;
    i++;
    if (cmd === 7) {
      if (f.type !== 3) problems.push('ClosePath outside a polygon');
      if (count !== 1) problems.push(`ClosePath count ${count}`);
      if (!rings.length || closed[rings.length - 1]) problems.push('ClosePath without an open ring');
      closed[rings.length - 1] = true;
      continue;
    }
    if (cmd !== 1 && cmd !== 2) return [...problems, `unknown command ${cmd}`];
    if (count < 1) problems.push(`${cmd === 1 ? 'MoveTo' : 'LineTo'} count 0`);
    if (cmd === 1 && f.type !== 1 && count !== 1) problems.push(`MoveTo count ${count} in a line or polygon`);
    if (i + count * 2 > g.length) return [...problems, 'command runs past the geometry'];
    for (let k = 0; k < count; k++) {
      const dx = zigzag(g[i++] as number);
      const dy = zigzag(g[i++] as number);
      if (cmd === 2 && dx === 0 && dy === 0) problems.push('zero-length LineTo');
      x += dx;
      y += dy;
      if (!inBounds(x, y)) problems.push(`position ${x},${y} outside extent + buffer`);
      if (cmd === 1) {
        if (f.type === 3 && rings.length && !closed[rings.length - 1]) problems.push(`ring ${rings.length - 1} is not closed`);
        rings.push([[x, y]]);
      } else rings[rings.length - 1]?.push([x, y]);
    }
    if (cmd === 2 && !rings.length) problems.push('LineTo before any MoveTo');
  }
  if (f.type === 2) for (const r of rings) if (r.length < 2) problems.push(`line of ${r.length} position(s)`);
  if (f.type === 3) problems.push(...validateRings(rings, closed));
  return problems;
}

function validateRings(rings: Ring[], closed: boolean[]): string[] {
  const problems: string[] = [];
  rings.forEach((r, k) => {
    if (!closed[k]) problems.push(`ring ${k} is not closed`);
    if (r.length < 3) problems.push(`ring ${k} has ${r.length + 1} points (with the closing one), needs 4`);
    const area = ringArea(r);
    if (area === 0) problems.push(`ring ${k} has zero area`);
    if (k === 0 && area < 0) problems.push('first ring is not exterior (clockwise, positive area with y down)');
  });
  return problems;
}

function ringArea(r: Ring): number {
  let sum = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const a = r[j] as [number, number];
    const b = r[i] as [number, number];
    sum += a[0] * b[1] - b[0] * a[1];
  }
  return sum / 2;
}

function zigzag(n: number): number {
  return (n >>> 1) ^ -(n & 1);
}

function readLayers(bytes: Uint8Array): RawLayer[] {
  const pbf = new PbfReader(bytes);
  return pbf.readFields((tag, layers: RawLayer[], p) => {
    if (tag === 3) layers.push(p.readMessage(readLayer, { version: 1, name: '', extent: 4096, keys: [], values: 0, badValues: 0, features: [] }));
  }, []);
}

function readLayer(tag: number, layer: RawLayer, p: PbfReader): void {
  if (tag === 15) layer.version = p.readVarint();
  else if (tag === 1) layer.name = p.readString();
  else if (tag === 5) layer.extent = p.readVarint();
  else if (tag === 3) layer.keys.push(p.readString());
  else if (tag === 4) {
    // pbf skips every field the callback leaves unread, so counting is enough.
    const fields = p.readMessage((_t, n: { count: number }) => { n.count++; }, { count: 0 }).count;
    layer.values++;
    if (fields !== 1) layer.badValues++;
  } else if (tag === 2) layer.features.push(p.readMessage(readFeature, { id: undefined, type: 0, tags: [], geometry: [] }));
}

function readFeature(tag: number, f: RawFeature, p: PbfReader): void {
  if (tag === 1) f.id = p.readVarint();
  else if (tag === 2) p.readPackedVarint(f.tags);
  else if (tag === 3) f.type = p.readVarint();
  else if (tag === 4) p.readPackedVarint(f.geometry);
}
