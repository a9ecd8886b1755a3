import { parseLayerSpec, TilePathError } from '../../domain/tile-path.js';
import { ExportError } from '../../store/export/export-error.js';
import { exportFormatOf, exportVersion, type ExportResult } from '../../store/export/export-version.js';
import { CliError, UsageError } from '../cli-error.js';
import type { Runtime } from '../runtime.js';

/** `plantiles export <layer>[@version] <file.mbtiles|file.pmtiles>`: one version to a portable file. */
export function exportCommand(rt: Runtime, specText: string, file: string, options: { json: boolean; force: boolean }): ExportResult {
  let spec;
  try {
    spec = parseLayerSpec(specText);
  } catch (err) {
    if (err instanceof TilePathError) throw new UsageError(`${err.message}: expected <layer> or <layer>@<version>`);
    throw err;
  }
  if (!exportFormatOf(file)) throw new UsageError(`${file}: the output must end in .mbtiles or .pmtiles`);
  try {
    const result = exportVersion(rt.store, spec, file, { replace: options.force });
    if (options.json) console.log(JSON.stringify({ event: 'result', state: 'exported', ...result }));
    else console.log(`${result.layer}@${result.version}: ${result.tiles} tiles written to ${result.file} (${result.format}, ${result.bytes} bytes)`);
    return result;
  } catch (err) {
    if (err instanceof ExportError) throw new CliError(err.message);
    throw err;
  }
}
