import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (CI installs it with apt); PLANTILES_CHROMIUM points elsewhere. */
export const CHROMIUM_PATH = process.env.PLANTILES_CHROMIUM ?? '/usr/bin/chromium';
/** False where no browser is installed: browser tests skip with this as their reason. */
export const hasChromium = existsSync(CHROMIUM_PATH);
/** The skip reason shown when chromium is missing. */
export const NO_CHROMIUM = `chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set PLANTILES_CHROMIUM)`;

/** Headless Chromium with software WebGL, so MapLibre and OpenLayers render on a machine without a GPU. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** What a page did: console errors, uncaught exceptions, and every tile answer. */
export interface PageLog {
  /** `console.error` messages and uncaught exceptions, in order. */
  errors: string[];
  /** Every tile request the page made (cache hits included), path only. */
  tileRequests: string[];
  /** Every tile response, path only, with its status. */
  tileResponses: { path: string; status: number }[];
  /** Requests that failed at the network level (refused, aborted by the server …). */
  failed: string[];
}

const TILE_PATH = /^\/tiles\/[^/]+\/\d+\/\d+\/\d+\.(mvt|pbf)$/;

/** True for a tile URL (`/tiles/{layer}[@v]/{z}/{x}/{y}.mvt`), false for TileJSON and the rest. */
export function isTileUrl(url: string): boolean {
  return TILE_PATH.test(decodeURIComponent(new URL(url).pathname));
}

/** A new 1280×800 page that records its console errors and tile traffic into a PageLog. */
export async function openLoggedPage(browser: Browser): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const log: PageLog = { errors: [], tileRequests: [], tileResponses: [], failed: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') log.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (err) => log.errors.push(`exception: ${err.message}`));
  page.on('request', (request) => {
    if (isTileUrl(request.url())) log.tileRequests.push(decodeURIComponent(new URL(request.url()).pathname));
  });
  page.on('response', (response) => {
    if (isTileUrl(response.url())) {
      log.tileResponses.push({ path: decodeURIComponent(new URL(response.url()).pathname), status: response.status() });
    }
  });
  page.on('requestfailed', (request) => {
    // A tile request the client itself cancels (panned away) is not a server failure.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    log.failed.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
  });
  return { page, log };
}

/** Resolves when `predicate` is true of the log, polling; rejects after `timeoutMs` naming `what`. */
export async function waitForLog(log: PageLog, predicate: (log: PageLog) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(log)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A rectangle of the page, in CSS pixels. */
export interface Clip {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Colours of a screenshot region: a histogram of `#rrggbb` → pixel count. */
export interface PixelStats {
  total: number;
  histogram: Record<string, number>;
}

/**
 * Screenshots `clip` and counts its colours. The PNG is decoded by the browser itself
 * (Image + 2D canvas), so this reads what was composited on screen, whatever drew it
 * (MapLibre's WebGL canvas, OpenLayers' 2D canvases).
 */
export async function pixelStats(page: Page, clip: Clip): Promise<PixelStats> {
  const png = await page.screenshot({ clip, animations: 'disabled' });
  return page.evaluate(async (base64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${base64}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas context');
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const histogram: Record<string, number> = {};
    for (let i = 0; i < data.length; i += 4) {
      const hex = `#${[data[i], data[i + 1], data[i + 2]].map((c) => (c ?? 0).toString(16).padStart(2, '0')).join('')}`;
      histogram[hex] = (histogram[hex] ?? 0) + 1;
    }
    return { total: canvas.width * canvas.height, histogram };
  }, png.toString('base64'));
}

/** Parses `#rrggbb`. */
export function parseHex(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Largest per-channel difference between two `#rrggbb` colours. */
export function colourDistance(a: string, b: string): number {
  const [pa, pb] = [parseHex(a), parseHex(b)];
  return Math.max(...pa.map((c, i) => Math.abs(c - (pb[i] ?? 0))));
}

/** `top` drawn at `opacity` over `bottom`, as `#rrggbb`. */
export function blend(top: string, bottom: string, opacity: number): string {
  const [t, b] = [parseHex(top), parseHex(bottom)];
  return `#${t.map((c, i) => Math.round(c * opacity + (b[i] ?? 0) * (1 - opacity)).toString(16).padStart(2, '0')).join('')}`;
}

/** Pixels of `stats` within `tolerance` (per channel) of `colour`. */
export function countNear(stats: PixelStats, colour: string, tolerance = 3): number {
  let n = 0;
  for (const [hex, count] of Object.entries(stats.histogram)) if (colourDistance(hex, colour) <= tolerance) n += count;
  return n;
}

/** Distinct colours each covering at least `minPixels` pixels (ignores anti-aliasing fringes). */
export function distinctColours(stats: PixelStats, minPixels = 20): number {
  return Object.values(stats.histogram).filter((count) => count >= minPixels).length;
}

/** A suite title that carries the skip reason when there is no browser (vitest prints titles of skipped suites). */
export function browserSuiteTitle(title: string): string {
  return hasChromium ? title : `${title} [skipped: ${NO_CHROMIUM}]`;
}
