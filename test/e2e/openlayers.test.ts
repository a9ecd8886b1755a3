import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROBE_PARCEL } from '../../pipeline/demo/generate-demo.js';
import { BACKGROUND_COLOR, LANDUSE_PALETTE } from '../../src/server/style/build-style.js';
import {
  blend, browserSuiteTitle, countNear, hasChromium, launchBrowser, openLoggedPage, pixelStats, type Clip, type PageLog,
} from '../helpers/browser.js';
import { startDemoNode, type DemoNode } from './demo-node.js';

// /ol.html: the same layers read by OpenLayers' own MVT format, in Debian's Chromium.
const LAYERS = ['ubound', 'eco-redline', 'farmland', 'heritage', 'projects'] as const;
/** The map left of the panel, clear of the zoom buttons and the attribution button. */
const MAP_CLIP: Clip = { x: 40, y: 10, width: 900, height: 740 };
const LINE_COLOURS = { ubound: '#d7301f', 'eco-redline': '#1a9850', heritage: '#7b3294', projects: '#2166ac' };

/** The parts of OpenLayers the page exposes that this test drives (the page uses ol's full build). */
interface OlWindow {
  ol: { proj: { fromLonLat(c: readonly number[]): number[]; toLonLat(c: number[]): number[] } };
  plantilesOl: {
    ready: Promise<unknown>;
    map: {
      getView(): { setCenter(c: number[]): void; setZoom(z: number): void; getCenter(): number[]; getZoom(): number };
      getPixelFromCoordinate(c: number[]): number[];
      once(type: 'rendercomplete', listener: () => void): void;
      render(): void;
    };
  };
}

/** Centres the OpenLayers map and waits until every tile in view is loaded and drawn. */
async function olJumpTo(page: Page, lngLat: readonly [number, number], zoom: number): Promise<void> {
  await page.evaluate(({ lngLat, zoom }) => new Promise<void>((resolve) => {
    const { ol, plantilesOl } = window as unknown as OlWindow;
    plantilesOl.map.once('rendercomplete', () => resolve());
    plantilesOl.map.getView().setCenter(ol.proj.fromLonLat(lngLat));
    plantilesOl.map.getView().setZoom(zoom);
  }), { lngLat, zoom });
}

async function olRendered(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((resolve) => {
    const { plantilesOl } = window as unknown as OlWindow;
    plantilesOl.map.once('rendercomplete', () => resolve());
    plantilesOl.map.render();
  }));
}

async function olPixelOf(page: Page, lngLat: readonly [number, number]): Promise<{ x: number; y: number }> {
  return page.evaluate((lngLat) => {
    const { ol, plantilesOl } = window as unknown as OlWindow;
    const [x = NaN, y = NaN] = plantilesOl.map.getPixelFromCoordinate(ol.proj.fromLonLat(lngLat));
    return { x, y };
  }, lngLat);
}

describe.skipIf(!hasChromium)(browserSuiteTitle('OpenLayers page over the demo city'), () => {
  let node: DemoNode;
  let browser: Browser;
  let page: Page;
  let log: PageLog;

  beforeAll(async () => {
    node = await startDemoNode(LAYERS);
    browser = await launchBrowser();
    ({ page, log } = await openLoggedPage(browser));
    await page.goto(`${node.url}/ol.html`);
    await page.waitForFunction(() => (window as unknown as Partial<OlWindow>).plantilesOl !== undefined);
    await page.evaluate(async () => { await (window as unknown as OlWindow).plantilesOl.ready; });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.dispose();
  });

  it('loads OpenLayers from this server and lists every layer with its version', async () => {
    expect(await page.locator('#ol-version').innerText()).toMatch(/^\d+\.\d+\.\d+/);
    for (const id of LAYERS) {
      expect(await page.locator(`#layer-list li[data-layer="${id}"] .version`).innerText()).toBe('1.0.0');
    }
    expect(await page.locator('#synthetic-label').isVisible()).toBe(true);
  });

  it('draws every layer in its style colour, and nothing but background with the layers off', async () => {
    const drawn = await pixelStats(page, MAP_CLIP);
    for (const [layer, colour] of Object.entries(LINE_COLOURS)) {
      // Canvas 2D strokes are anti-aliased more than MapLibre's: fewer pixels carry the exact colour.
      expect(countNear(drawn, colour, 12), `${layer} lines (${colour}) on the canvas`).toBeGreaterThan(30);
    }
    for (const id of LAYERS) await page.locator(`#layer-list input[data-layer="${id}"]`).uncheck();
    await olRendered(page);
    const blank = await pixelStats(page, MAP_CLIP);
    expect(countNear(blank, BACKGROUND_COLOR, 2)).toBe(blank.total);
    for (const id of LAYERS) await page.locator(`#layer-list input[data-layer="${id}"]`).check();
  });

  it('colours the known parcel by its DLBM and shows its BSM and Chinese DLMC on click', async () => {
    await olJumpTo(page, DEMO_PROBE_PARCEL.centroid, 14);
    const at = await olPixelOf(page, DEMO_PROBE_PARCEL.centroid);
    const centre = await pixelStats(page, { x: Math.round(at.x) - 1, y: Math.round(at.y) - 1, width: 3, height: 3 });
    const colour = LANDUSE_PALETTE.find((e) => e.code === DEMO_PROBE_PARCEL.dlbm)?.color ?? '';
    expect(countNear(centre, blend(colour, BACKGROUND_COLOR, 0.7), 4)).toBe(centre.total);

    await page.mouse.click(at.x, at.y);
    await expect.poll(() => page.locator('#feature-info').isVisible()).toBe(true);
    const shown = Object.fromEntries(await page.$$eval('#feature-info tr', (rows) => rows.map((row) => [
      row.querySelector('th')?.textContent ?? '', row.querySelector('td')?.textContent ?? '',
    ])));
    expect(shown).toMatchObject({ layer: 'farmland', BSM: DEMO_PROBE_PARCEL.bsm, DLMC: DEMO_PROBE_PARCEL.dlmc });
  });

  it('requested only versioned tiles, every one answered 200 or 204, with no console errors', () => {
    expect(log.tileResponses.length).toBeGreaterThan(20);
    expect(log.tileResponses.filter((r) => r.status !== 200 && r.status !== 204)).toEqual([]);
    expect(log.tileRequests.filter((p) => !/^\/tiles\/[^/@]+@1\.0\.0\//.test(p))).toEqual([]);
    expect(log.failed).toEqual([]);
    expect(log.errors).toEqual([]);
  });
});
