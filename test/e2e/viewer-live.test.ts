import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserSuiteTitle, hasChromium, launchBrowser, openLoggedPage, waitForLog, type PageLog,
} from '../helpers/browser.js';
import type { Job } from '../../src/jobs/jobs.js';
import { DEMO_ADMIN_TOKEN, startDemoNode, type DemoNode } from './demo-node.js';
import {
  attributesShown, jumpTo, markPage, mapIdle, pageContinuity, pixelOf, shownVersion, viewerReady, type ViewerWindow,
} from './viewer-page.js';

// Live following and the version picker: a publish through the admin API
// (POST /admin/layers/{layer}/publish) makes the open viewer switch sources on the `publish`
// event from /events; the picker can pin an older version. Heritage is small, so each
// publish is quick.

/** 聊城古城历史文化街区: the first heritage feature, a polygon in the central city; the point is clear of 光岳楼 inside it. */
const OLD_TOWN = { bsm: '371502600000000001', lngLat: [115.9870, 36.4522] as const };
const NAME_FIELD = 'MC';

interface GeoJsonDoc {
  features: { properties: Record<string, unknown> }[];
}

describe.skipIf(!hasChromium)(browserSuiteTitle('viewer follows new versions live and shows older ones'), () => {
  let node: DemoNode;
  let browser: Browser;
  let page: Page;
  let log: PageLog;
  let marker: string;
  let timeOrigin: number;
  let originalName: string;

  /** Renames the old town in the heritage source; the next publish makes a new minor version. */
  function renameOldTown(suffix: string): void {
    const file = path.join(node.demoDir, 'heritage.geojson');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as GeoJsonDoc;
    const feature = doc.features.find((f) => f.properties.BSM === OLD_TOWN.bsm);
    if (!feature) throw new Error(`no heritage feature ${OLD_TOWN.bsm}`);
    feature.properties[NAME_FIELD] = `${originalName}${suffix}`;
    writeFileSync(file, JSON.stringify(doc));
  }

  const admin = { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` };

  /** POST /admin/layers/heritage/publish: answers 202 with the queued job. */
  async function publishViaAdminApi(): Promise<Job> {
    const res = await fetch(`${node.url}/admin/layers/heritage/publish`, { method: 'POST', headers: admin });
    expect(res.status).toBe(202);
    return (await res.json()) as Job;
  }

  async function finishedJob(id: number): Promise<Job> {
    let job: Job | undefined;
    await expect.poll(async () => {
      job = (await (await fetch(`${node.url}/admin/jobs/${id}`, { headers: admin })).json()) as Job;
      return job.state;
    }, { timeout: 30_000, interval: 100 }).toMatch(/succeeded|unchanged|failed/);
    if (!job) throw new Error(`job ${id} not found`);
    return job;
  }

  /** Clicks the old town and returns the name the attributes panel shows. */
  async function clickedName(): Promise<string | undefined> {
    await mapIdle(page);
    const at = await pixelOf(page, OLD_TOWN.lngLat);
    await page.mouse.click(at.x, at.y);
    await expect.poll(() => page.locator('#attributes').isVisible()).toBe(true);
    const shown = await attributesShown(page);
    expect(shown.BSM).toBe(OLD_TOWN.bsm);
    return shown[NAME_FIELD];
  }

  const requested = (prefix: string, from: number) => (l: PageLog): boolean => l.tileRequests.slice(from).some((p) => p.startsWith(prefix));

  beforeAll(async () => {
    node = await startDemoNode(['ubound', 'heritage']);
    const doc = JSON.parse(readFileSync(path.join(node.demoDir, 'heritage.geojson'), 'utf8')) as GeoJsonDoc;
    originalName = String(doc.features.find((f) => f.properties.BSM === OLD_TOWN.bsm)?.properties[NAME_FIELD]);
    browser = await launchBrowser();
    ({ page, log } = await openLoggedPage(browser));
    await page.goto(`${node.url}/`);
    await viewerReady(page);
    await jumpTo(page, OLD_TOWN.lngLat, 14);
    marker = await markPage(page);
    ({ timeOrigin } = await pageContinuity(page));
  });
  afterAll(async () => {
    await browser?.close();
    await node?.dispose();
  });

  it('switches to the new version\'s tiles within 10 s of a publish, without a reload', async () => {
    expect(await clickedName()).toBe(originalName);
    const panelTitle = (): Promise<string> => page.locator('#attributes-title').innerText();
    renameOldTown('（修订）');
    const from = log.tileRequests.length;
    const queued = await publishViaAdminApi();
    // The 10 s count from the API call: the publish job itself runs inside the window.
    await waitForLog(log, requested('/tiles/heritage@1.1.0/', from), 'tiles of heritage@1.1.0', 10_000);
    expect(await finishedJob(queued.id)).toMatchObject({ state: 'succeeded', version: '1.1.0', layer: 'heritage' });

    expect(await pageContinuity(page)).toEqual({ marker, timeOrigin });
    await expect.poll(() => shownVersion(page, 'heritage')).toBe('1.1.0');
    // The panel left open on the old town follows: the new version's attributes, without a click.
    await expect.poll(panelTitle, { timeout: 10_000 }).toContain('heritage @ 1.1.0');
    expect((await attributesShown(page))[NAME_FIELD]).toBe(`${originalName}（修订）`);
    expect(await clickedName()).toBe(`${originalName}（修订）`);
    expect(await page.locator('#attributes-title').innerText()).toContain('heritage @ 1.1.0');
    const options = await page.locator('#layer-list select[data-layer="heritage"] option').evaluateAll(
      (nodes) => nodes.map((n) => (n as HTMLOptionElement).value),
    );
    expect(options).toEqual(['', '1.1.0', '1.0.0']);
  });

  it('shows the older version\'s tiles when it is picked', async () => {
    const from = log.tileRequests.length;
    await page.locator('#layer-list select[data-layer="heritage"]').selectOption('1.0.0');
    await waitForLog(log, requested('/tiles/heritage@1.0.0/', from), 'tiles of heritage@1.0.0');
    expect(await shownVersion(page, 'heritage')).toBe('1.0.0');
    expect(await page.locator('#layer-list li[data-layer="heritage"] .current-version').getAttribute('class')).toContain('pinned');
    expect(await clickedName()).toBe(originalName);
    expect(await page.locator('#attributes-title').innerText()).toContain('heritage @ 1.0.0');
  });

  it('keeps a picked version through a newer publish, and "follow current" returns to the newest', async () => {
    renameOldTown('（二次修订）');
    const job = await finishedJob((await publishViaAdminApi()).id);
    expect(job).toMatchObject({ state: 'succeeded', version: '1.2.0' });
    const version = '1.2.0';
    await page.waitForFunction((v) => (window as unknown as ViewerWindow).plantilesViewer.state.events.some((e) => e.version === v), version);
    // The label follows once the viewer has fetched the catalog the event prompts (over a second on a loaded machine).
    await expect.poll(() => page.locator('#layer-list select[data-layer="heritage"] option').first().innerText(), { timeout: 10_000 }).toContain('1.2.0');
    expect(await shownVersion(page, 'heritage')).toBe('1.0.0');
    expect(await clickedName()).toBe(originalName);

    const from = log.tileRequests.length;
    await page.locator('#layer-list select[data-layer="heritage"]').selectOption('');
    await waitForLog(log, requested('/tiles/heritage@1.2.0/', from), 'tiles of heritage@1.2.0');
    expect(await clickedName()).toBe(`${originalName}（二次修订）`);
    expect(await pageContinuity(page)).toEqual({ marker, timeOrigin });
  });

  it('answered every tile request 200 or 204, with no console errors', () => {
    expect(log.tileResponses.length).toBeGreaterThan(0);
    expect(log.tileResponses.filter((r) => r.status !== 200 && r.status !== 204)).toEqual([]);
    expect(log.failed).toEqual([]);
    expect(log.errors).toEqual([]);
  });

  it('catches up after the server was away: a version published meanwhile is shown once it is back', async () => {
    // A second viewer, opened just now, has received no event yet: nothing to resume from but the stream's start.
    const fresh = await openLoggedPage(browser);
    await fresh.page.goto(`${node.url}/`);
    await viewerReady(fresh.page);
    renameOldTown('（停机期间）');
    await node.restartServer(async () => {
      // The stream breaks; the viewer says so, then the publish happens while nothing answers.
      await expect.poll(() => page.locator('#status').innerText(), { timeout: 10_000 }).toMatch(/reconnecting/);
      await node.publish('heritage');
    });
    await expect.poll(() => shownVersion(fresh.page, 'heritage'), { timeout: 20_000 }).toBe('1.3.0');
    await expect.poll(() => shownVersion(page, 'heritage'), { timeout: 20_000 }).toBe('1.3.0');
    await fresh.page.close();
    expect(await clickedName()).toBe(`${originalName}（停机期间）`);
    expect(await pageContinuity(page)).toEqual({ marker, timeOrigin });
  });
});
