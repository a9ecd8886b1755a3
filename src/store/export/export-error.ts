/** Why an export could not be written; names the layer, version and file. The CLI maps it to exit code 1. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
  constructor(readonly context: { layer: string; version?: string; file?: string }, message: string) {
    super(message);
  }
}
