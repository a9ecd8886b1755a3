import type { Runtime } from '../runtime.js';
import { CliError } from '../cli-error.js';

/** `plantiles versions <layer>`: the layer's versions, newest first, the current one marked. */
export function listVersions(rt: Runtime, layerId: string, json: boolean): void {
  const layer = rt.store.getLayer(layerId);
  if (!layer) throw new CliError(`layer "${layerId}" has no published versions in ${rt.config.storage.dir}`);
  if (json) {
    for (const v of layer.versions) {
      console.log(JSON.stringify({ layer: layerId, version: v.version, current: v.vid === layer.currentVid, state: v.state, publishedAt: v.publishedAt, tiles: v.tiles, bytes: v.bytes }));
    }
    return;
  }
  for (const v of layer.versions) {
    const mark = v.vid === layer.currentVid ? '*' : ' ';
    console.log(`${mark} ${v.version.padEnd(10)} ${v.state.padEnd(7)} ${v.publishedAt}  ${String(v.tiles).padStart(7)} tiles  ${String(v.bytes).padStart(11)} bytes`);
  }
}
