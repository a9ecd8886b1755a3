import type { Map as MapLibreMap } from 'maplibre-gl';
import type { Page } from 'playwright-core';

/** What the viewer exposes on `window.plantilesViewer` (see src/server/viewer/viewer.js). */
export interface ViewerApi {
  map: MapLibreMap;
  ready: Promise<unknown>;
  state: {
    shown: Record<string, string | null>;
    pinned: Record<string, string>;
    events: { layer: string; version: string; seq: number }[];
  };
  selected: { layer: string; version: string; id: number; properties: Record<string, unknown> } | null;
}

/** `window` in the viewer page (used inside page.evaluate callbacks). */
export type ViewerWindow = Window & { plantilesViewer: ViewerApi };

/** Waits until the viewer has drawn its first complete frame. */
export async function viewerReady(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as ViewerWindow).plantilesViewer !== undefined);
  await page.evaluate(async () => {
    await (window as unknown as ViewerWindow).plantilesViewer.ready;
  });
}

/** Resolves once the map is idle again (every visible tile loaded and drawn). */
export async function mapIdle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((resolve) => {
    const map = (window as unknown as ViewerWindow).plantilesViewer.map;
    map.once('idle', () => resolve());
    map.triggerRepaint();
  }));
}

/** Moves the map without animation and waits until it is idle. */
export async function jumpTo(page: Page, center: readonly [number, number], zoom: number): Promise<void> {
  await page.evaluate(({ center, zoom }) => new Promise<void>((resolve) => {
    const map = (window as unknown as ViewerWindow).plantilesViewer.map;
    map.once('idle', () => resolve());
    map.jumpTo({ center: [center[0], center[1]], zoom });
  }), { center, zoom });
}

/** The page pixel (CSS) of a lon/lat: the map fills the window, so map and page pixels coincide. */
export async function pixelOf(page: Page, lngLat: readonly [number, number]): Promise<{ x: number; y: number }> {
  return page.evaluate((lngLat) => {
    const point = (window as unknown as ViewerWindow).plantilesViewer.map.project([lngLat[0], lngLat[1]]);
    return { x: point.x, y: point.y };
  }, lngLat);
}

/** The attributes panel as `{name: value}`, read from the DOM the user sees. */
export async function attributesShown(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#attributes-table tr', (rows) => Object.fromEntries(rows.map((row) => [
    row.querySelector('th')?.textContent ?? '',
    row.querySelector('td')?.textContent ?? '',
  ])));
}

/** The version a layer's row says is on the map. */
export async function shownVersion(page: Page, layer: string): Promise<string> {
  return page.locator(`#layer-list li[data-layer="${layer}"] .current-version`).innerText();
}

/** A marker set on `window`; if it survives, the page was not reloaded. */
export async function markPage(page: Page): Promise<string> {
  const marker = `marker-${Math.random()}`;
  await page.evaluate((value) => { (window as unknown as { plantilesTestMarker: string }).plantilesTestMarker = value; }, marker);
  return marker;
}

/** The marker set by markPage and the document's time origin (a reload starts a new one). */
export async function pageContinuity(page: Page): Promise<{ marker: string | undefined; timeOrigin: number }> {
  return page.evaluate(() => ({
    marker: (window as unknown as { plantilesTestMarker?: string }).plantilesTestMarker,
    timeOrigin: performance.timeOrigin,
  }));
}
