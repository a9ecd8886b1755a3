/** Web-mercator world x (0..1) of a longitude, as geojson-vt projects it. */
export function projectX(lon: number): number {
  return lon / 360 + 0.5;
}

/** Web-mercator world y (0..1, down) of a latitude, as geojson-vt projects it (clamped to the square). */
export function projectY(lat: number): number {
  const sin = Math.sin((lat * Math.PI) / 180);
  const y = 0.5 - (0.25 * Math.log((1 + sin) / (1 - sin))) / Math.PI;
  return y < 0 ? 0 : y > 1 ? 1 : y;
}
