/** Why the store refused an operation; the server maps the code to a status in one place. */
export type StoreErrorCode = 'unknown-layer' | 'unknown-version' | 'pruned-version' | 'conflict';

/** An error of the tile store, carrying the layer/version it concerns in its message. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
  }
}

/** The store's folder or file cannot be opened or written; the message names it and the reason. */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}
