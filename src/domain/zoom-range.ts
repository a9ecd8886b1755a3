/** A zoom-range key of a per-zoom setting: "12" or "0-9"; returns [from, to], or null when malformed. */
export function zoomRangeOf(key: string): [number, number] | null {
  const m = /^(\d{1,2})(?:-(\d{1,2}))?$/.exec(key);
  if (!m) return null;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from <= to && to <= 30 ? [from, to] : null;
}
