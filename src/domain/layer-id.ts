/** Pattern every layer id must match (SPEC §3.2); anything else is a 400, never a path. */
export const LAYER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** True when `id` is a well-formed layer id. */
export function isLayerId(id: string): boolean {
  return LAYER_ID_PATTERN.test(id);
}
