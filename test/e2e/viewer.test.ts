import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROBE_PARCEL } from '../../pipeline/demo/generate-demo.js';
import { BACKGROUND_COLOR, LANDUSE_PALETTE } from '../../src/server/style/build-style.js';
import {
  blend, browserSuiteTitle, countNear, hasChromium, launchBrowser, openLoggedPage, pixelStats, type Clip, type PageLog,
} from '../helpers/browser.js';
import { startDemoNode, type DemoNode } from './demo-node.js';
import { attributesShown, jumpTo, mapIdle, pixelOf, shownVersion, viewerReady, type ViewerWindow } from './viewer-page.js';

// The MapLibre viewer at `/`, in Debian's Chromium, over the whole synthetic demo city.
const LAYERS = ['ubound', 'eco-redline', 'farmland', 'pbf', 'heritage', 'projects'] as const;
/** The map left of the side panel, clear of the zoom buttons, scale bar and attribution. */
const MAP_CLIP: Clip = { x: 50, y: 10, width: 880, height: 740 };
/** Line colours of config/plantiles.yaml, one per layer drawn at the initial (whole-city) view. */
const LINE_COLOURS = { ubound: '#d7301f', 'eco-redline': '#1a9850', heritage: '#7b3294', projects: '#2166ac' };
const FARMLAND_OPACITY = 0.7;
/** The outline of the selected feature (src/server/viewer/viewer.js). */
const SELECTED_COLOUR = '#00b7ff';

const paletteColour = (code: string): string => {
  const entry = LANDUSE_PALETTE.find((e) => e.code === code);
  if (!entry) throw new Error(`no palette entry ${code}`);
  return entry.color;
};

describe.skipIf(!hasChromium)(browserSuiteTitle('MapLibre viewer over the demo city'), () => {
  let node: DemoNode;
  let browser: Browser;
  let page: Page;
  let log: PageLog;
  let home: { center: [number, number]; zoom: number };

  beforeAll(async () => {
    node = await startDemoNode(LAYERS);
    browser = await launchBrowser();
    ({ page, log } = await openLoggedPage(browser));
    await page.goto(`${node.url}/`);
    await viewerReady(page);
    home = await page.evaluate(() => {
      const map = (window as unknown as ViewerWindow).plantilesViewer.map;
      const c = map.getCenter();
      return { center: [c.lng, c.lat] as [number, number], zoom: map.getZoom() };
    });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.dispose();
  });

  it('lists every layer with its current version, a version picker, and the synthetic label', async () => {
    for (const id of LAYERS) {
      await expect.poll(() => page.locator(`#layer-list input[data-layer="${id}"]`).isChecked()).toBe(true);
      expect(await shownVersion(page, id)).toBe('1.0.0');
      const options = await page.locator(`#layer-list select[data-layer="${id}"] option`).evaluateAll(
        (nodes) => nodes.map((n) => (n as HTMLOptionElement).value),
      );
      expect(options).toEqual(['', '1.0.0']);
    }
    expect(await page.locator('#synthetic-label').isVisible()).toBe(true);
    expect(await page.locator('#node-title').innerText()).toMatch(/聊城市国土空间规划一张图/);
  });

  it('draws the layers over a plain background: pixels vary where the layers are, and only there', async () => {
    const drawn = await pixelStats(page, MAP_CLIP);
    for (const [layer, colour] of Object.entries(LINE_COLOURS)) {
      expect(countNear(drawn, colour, 6), `${layer} lines (${colour}) on the canvas`).toBeGreaterThan(100);
    }
    expect(countNear(drawn, BACKGROUND_COLOR, 2) / drawn.total).toBeLessThan(0.95);

    for (const id of LAYERS) await page.locator(`#layer-list input[data-layer="${id}"]`).uncheck();
    await mapIdle(page);
    const blank = await pixelStats(page, MAP_CLIP);
    expect(countNear(blank, BACKGROUND_COLOR, 2), 'every pixel is background with every layer off').toBe(blank.total);

    for (const id of LAYERS) await page.locator(`#layer-list input[data-layer="${id}"]`).check();
    await mapIdle(page);
    const again = await pixelStats(page, MAP_CLIP);
    expect(countNear(again, LINE_COLOURS.projects, 6)).toBeGreaterThan(100);
  });

  it('colours farmland parcels by DLBM with the colours its legend lists', async () => {
    const legend = page.locator(`#legend-list li[data-code="${DEMO_PROBE_PARCEL.dlbm}"]`);
    expect(await legend.innerText()).toContain(DEMO_PROBE_PARCEL.dlmc);
    const swatch = await legend.locator('.swatch').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(swatch).toBe(cssRgb(paletteColour(DEMO_PROBE_PARCEL.dlbm)));
    // The legend goes with the layer it explains.
    await page.locator('#layer-list input[data-layer="farmland"]').uncheck();
    expect(await page.locator('#legend').isVisible()).toBe(false);
    await page.locator('#layer-list input[data-layer="farmland"]').check();
    expect(await page.locator('#legend').isVisible()).toBe(true);

    await jumpTo(page, DEMO_PROBE_PARCEL.centroid, 14);
    const at = await pixelOf(page, DEMO_PROBE_PARCEL.centroid);
    const centre = await pixelStats(page, { x: Math.round(at.x) - 1, y: Math.round(at.y) - 1, width: 3, height: 3 });
    const expected = blend(paletteColour(DEMO_PROBE_PARCEL.dlbm), BACKGROUND_COLOR, FARMLAND_OPACITY);
    expect(countNear(centre, expected, 4), `parcel ${DEMO_PROBE_PARCEL.bsm} filled with ${expected}`).toBe(centre.total);

    await jumpTo(page, DEMO_PROBE_PARCEL.centroid, 12);
    const wide = await pixelStats(page, MAP_CLIP);
    const classes = ['0101', '0102', '0103'].filter((code) => countNear(wide, blend(paletteColour(code), BACKGROUND_COLOR, FARMLAND_OPACITY), 4) > 50);
    expect(classes, 'paddy, irrigated and dry land each in their own colour').toEqual(['0101', '0102', '0103']);
  });

  it('shows a clicked parcel\'s BSM and Chinese DLMC in the attributes panel', async () => {
    await jumpTo(page, DEMO_PROBE_PARCEL.centroid, 14);
    const at = await pixelOf(page, DEMO_PROBE_PARCEL.centroid);
    await page.mouse.click(at.x, at.y);
    await expect.poll(() => page.locator('#attributes').isVisible()).toBe(true);
    const shown = await attributesShown(page);
    expect(shown).toMatchObject({
      BSM: DEMO_PROBE_PARCEL.bsm,
      DLMC: DEMO_PROBE_PARCEL.dlmc,
      DLBM: DEMO_PROBE_PARCEL.dlbm,
      XZQDM: DEMO_PROBE_PARCEL.xzqdm,
    });
    expect(await page.locator('#attributes-title').innerText()).toContain('farmland @ 1.0.0');

    // The clicked parcel is outlined on the map; closing the panel clears the outline.
    const around: Clip = { x: Math.round(at.x) - 60, y: Math.round(at.y) - 60, width: 120, height: 120 };
    await mapIdle(page);
    expect(countNear(await pixelStats(page, around), SELECTED_COLOUR, 8)).toBeGreaterThan(40);
    await page.locator('#attributes-close').click();
    expect(await page.locator('#attributes').isVisible()).toBe(false);
    await mapIdle(page);
    expect(countNear(await pixelStats(page, around), SELECTED_COLOUR, 8)).toBe(0);
  });

  it('requested only versioned tiles, every one answered 200 or 204, with no console errors', async () => {
    await jumpTo(page, home.center, home.zoom);
    expect(log.tileResponses.length).toBeGreaterThan(20);
    const bad = log.tileResponses.filter((r) => r.status !== 200 && r.status !== 204);
    expect(bad).toEqual([]);
    expect(log.tileRequests.filter((p) => !/^\/tiles\/[^/@]+@1\.0\.0\//.test(p))).toEqual([]);
    expect(log.tileResponses.some((r) => r.status === 204), 'an empty tile inside a layer\'s range is a 204 the client accepts').toBe(true);
    expect(log.failed).toEqual([]);
    expect(log.errors).toEqual([]);
  });
});

function cssRgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}
