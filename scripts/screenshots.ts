// Regenerates the README's screenshots (docs/screenshots/*.png) from the product as it is:
// the built CLI runs `plantiles start` (demo sources, publish every layer, serve) in a temp
// dir, and headless Chromium photographs the viewer, the OpenLayers page and the admin page.
// Usage: npm run screenshots   (builds first; needs Chromium, PLANTILES_CHROMIUM to point elsewhere)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parse, stringify } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.join(ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.PLANTILES_CHROMIUM ?? '/usr/bin/chromium';
const VIEWPORT = { width: 1280, height: 800 };
/** The central city with the farmland around it: every layer and the land-use colours in one view. */
const VIEW = { center: [115.985, 36.445] as [number, number], zoom: 10.8 };
/** OpenLayers counts zoom on 256-pixel tiles, MapLibre on 512: one level more shows the same scale. */
const OL_ZOOM_OFFSET = 1;
/** Where the viewer shot clicks: the farmland parcel nearest this page pixel gets its attributes shown. */
const CLICK_NEAR = { x: 230, y: 560 };
const START_TIMEOUT_MS = 300_000;

/** A free loopback port (the OS picks it; the server binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The product config with its sources and store moved into `dir` (the demo is written there). */
function writeDemoConfig(dir: string): string {
  const product = parse(readFileSync(path.join(ROOT, 'config', 'plantiles.yaml'), 'utf8')) as {
    storage: Record<string, unknown>;
    layers: { source: string }[];
  };
  const config = {
    ...product,
    storage: { ...product.storage, dir: './tiles' },
    layers: product.layers.map((layer) => ({ ...layer, source: `demo/${path.basename(layer.source)}` })),
  };
  const file = path.join(dir, 'plantiles.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/** Runs `plantiles start` and resolves with its URL once it serves (it publishes every layer first). */
function startDemo(configFile: string, port: number, token: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), 'start', '--config', configFile], {
    env: { ...process.env, PORT: String(port), PLANTILES_ADMIN_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('plantiles start did not serve in time')), START_TIMEOUT_MS);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /serving .* at (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1].replace('localhost', '127.0.0.1') });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`plantiles start exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
}

async function save(page: Page, name: string): Promise<void> {
  const file = path.join(OUT_DIR, name);
  await page.screenshot({ path: file, animations: 'disabled' });
  console.log(`wrote ${path.relative(ROOT, file)} (${Math.round(statSync(file).size / 1024)} KB)`);
}

/** The MapLibre viewer over the central city, a parcel's attributes open in the panel. */
async function shootViewer(browser: Browser, url: string): Promise<void> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${url}/`);
  await page.waitForFunction(() => 'plantilesViewer' in window);
  await page.evaluate(async ({ center, zoom }) => {
    const viewer = (window as unknown as { plantilesViewer: { ready: Promise<unknown>; map: import('maplibre-gl').Map } }).plantilesViewer;
    await viewer.ready;
    await new Promise<void>((resolve) => {
      viewer.map.once('idle', () => resolve());
      viewer.map.jumpTo({ center, zoom });
    });
  }, VIEW);
  const at = await page.evaluate((near) => {
    const map = (window as unknown as { plantilesViewer: { map: import('maplibre-gl').Map } }).plantilesViewer.map;
    // Widening squares on a 4-pixel grid around the point, until one has a parcel under it.
    for (let r = 0; r < 200; r += 4) {
      for (let dx = -r; dx <= r; dx += 4) {
        for (let dy = -r; dy <= r; dy += 4) {
          if (Math.max(Math.abs(dx), Math.abs(dy)) !== r) continue;
          const point: [number, number] = [near.x + dx, near.y + dy];
          if (map.queryRenderedFeatures(point, { layers: ['farmland-fill'] }).length > 0) return { x: point[0], y: point[1] };
        }
      }
    }
    return near;
  }, CLICK_NEAR);
  await page.mouse.click(at.x, at.y);
  await page.waitForSelector('#attributes:not([hidden])', { timeout: 5000 }).catch(() => console.warn('no feature under the click point'));
  await page.mouse.move(5, 795);
  await save(page, 'viewer.png');
  await page.close();
}

/** The OpenLayers page over the same view. */
async function shootOpenLayers(browser: Browser, url: string): Promise<void> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${url}/ol.html`);
  await page.waitForFunction(() => 'plantilesOl' in window);
  await page.evaluate(async ({ center, zoom }) => {
    type Ol = { proj: { fromLonLat(c: number[]): number[] } };
    type OlMap = { once(t: string, f: () => void): void; getView(): { setCenter(c: number[]): void; setZoom(z: number): void } };
    const w = window as unknown as { ol: Ol; plantilesOl: { ready: Promise<unknown>; map: OlMap } };
    await w.plantilesOl.ready;
    await new Promise<void>((resolve) => {
      w.plantilesOl.map.once('rendercomplete', () => resolve());
      w.plantilesOl.map.getView().setCenter(w.ol.proj.fromLonLat(center));
      w.plantilesOl.map.getView().setZoom(zoom);
    });
  }, { center: VIEW.center, zoom: VIEW.zoom + OL_ZOOM_OFFSET });
  await save(page, 'openlayers.png');
  await page.close();
}

/** The admin page signed in, after one publish through the admin API so the jobs table has a row. */
async function shootAdmin(browser: Browser, url: string, token: string): Promise<void> {
  const probe = await fetch(`${url}/admin`);
  if (probe.status !== 200) {
    console.warn(`skipping admin.png: GET /admin answered ${probe.status} (no admin page in this build)`);
    return;
  }
  const queued = await fetch(`${url}/admin/layers/heritage/publish`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (queued.status !== 202) console.warn(`admin publish answered ${queued.status}; the jobs table may be empty`);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${url}/admin`);
  await page.fill('#token', token);
  await page.click('#signin-button');
  await page.waitForSelector('#app:not([hidden])', { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('#layers tbody tr').length > 0, undefined, { timeout: 10_000 });
  // Let the queued job finish so the shot shows its outcome rather than a moment of its progress.
  await page.waitForFunction(() => /succeeded|unchanged|failed/.test(document.querySelector('#jobs tbody')?.textContent ?? ''), undefined, { timeout: 60_000 })
    .catch(() => console.warn('the admin publish job did not finish in time'));
  await save(page, 'admin.png');
  await page.close();
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plantiles-screenshots-'));
  const token = randomBytes(24).toString('hex');
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    const started = await startDemo(writeDemoConfig(dir), await freePort(), token);
    child = started.child;
    console.log(`demo serving at ${started.url}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    await shootViewer(browser, started.url);
    await shootOpenLayers(browser, started.url);
    await shootAdmin(browser, started.url, token);
  } finally {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
