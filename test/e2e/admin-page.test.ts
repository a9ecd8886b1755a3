import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { adminConfig, publishViaApi, startAdminNode, TOKENS, type AdminNode } from '../helpers/admin-node.js';
import { browserSuiteTitle, hasChromium, launchBrowser, openLoggedPage, type PageLog } from '../helpers/browser.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

describe.skipIf(!hasChromium)(browserSuiteTitle('the admin page in Chromium'), () => {
  let dir: string;
  let fixtures: string;
  let node: AdminNode;
  let browser: Browser;
  let page: Page;
  let log: PageLog;

  beforeAll(async () => {
    dir = makeTempDir();
    fixtures = makeTempDir('plantiles-admin-page-');
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    node = await startAdminNode(writeConfig(dir, adminConfig()));
    expect(await publishViaApi(node.url, 'parcels')).toMatchObject({ version: '1.0.0' });
    browser = await launchBrowser();
    ({ page, log } = await openLoggedPage(browser));
    // Rollback asks for confirmation; the administrator says yes.
    page.on('dialog', (dialog) => void dialog.accept());
  });
  afterAll(async () => {
    await browser?.close();
    await node.stop();
    removeDir(dir);
    removeDir(fixtures);
  });

  const currentOf = (layer: string): Promise<string> => page.locator(`tr[data-layer="${layer}"] td.current`).innerText();

  it('refuses a wrong token with a message, then signs in with the right one', async () => {
    await page.goto(`${node.url}/admin`);
    await page.fill('#token', 'not-a-valid-token-at-all');
    await page.click('#signin-button');
    await page.locator('#signin-error').waitFor({ state: 'visible' });
    expect(await page.locator('#signin-error').innerText()).toMatch(/令牌|token/i);
    await page.fill('#token', TOKENS.city);
    await page.click('#signin-button');
    await page.locator('tr[data-layer="parcels"]').waitFor();
    expect(await currentOf('parcels')).toBe('1.0.0');
    await page.locator('#stream-state.live').waitFor();
    expect(await page.locator('#jobs tr[data-job]').count()).toBe(1);
    // The token is in this tab's storage, never in the address.
    expect(page.url()).not.toContain(TOKENS.city);
    // Signed in: the form is gone; this node follows no upstream, and the mirrors panel says so.
    expect(await page.locator('#signin').isVisible()).toBe(false);
    await page.locator('#mirrors-empty').waitFor({ state: 'visible' });
    expect(await page.locator('#mirrors').isVisible()).toBe(false);
  });

  it('uploads a GeoJSON and shows the job live until it finishes, then the new current version', async () => {
    // Record every state a job row shows, as the page renders it from the event stream.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenStates: string[] }).seenStates = seen;
      const body = document.querySelector('#jobs tbody') as HTMLElement;
      new MutationObserver((mutations) => {
        for (const m of mutations) {
          for (const row of m.addedNodes) {
            if (row instanceof HTMLElement) seen.push(`${row.getAttribute('data-job')}:${row.getAttribute('data-state')}`);
          }
        }
      }).observe(body, { childList: true });
    });
    const fc = makeParcels();
    const p = fc.features[5]?.properties;
    if (p) p.DLMC = '网页上传';
    const file = path.join(fixtures, '耕地更新.geojson');
    writeGeojson(file, fc);
    await page.setInputFiles('input[data-upload="parcels"]', file);
    await page.locator('#jobs tr[data-state="succeeded"]:has-text("上传 upload")').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('tr[data-layer="parcels"] td.current')?.textContent === '1.1.0');
    const states = await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates);
    const uploadJob = Math.max(...states.map((s) => Number(s.split(':')[0])));
    const sequence = [...new Set(states.filter((s) => s.startsWith(`${uploadJob}:`)).map((s) => s.split(':')[1]))];
    expect(sequence).toEqual(['queued', 'running', 'succeeded']);
    expect(await page.locator('tr[data-layer="parcels"] td.source').innerText()).toMatch(/upload r\d+ \(耕地更新\.geojson\)/);
  });

  it('shows a failed upload\'s error in the jobs table', async () => {
    const bad = path.join(fixtures, 'broken.geojson');
    writeGeojson(bad, { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { BSM: 'x' }, geometry: { type: 'Polygon', coordinates: [[[116, 36.4], [116.01, 36.4], [116, 36.4]]] } }] });
    // From the keyboard: the upload label takes the focus and Enter opens the file chooser.
    await page.locator('tr[data-layer="parcels"] label.upload').focus();
    const chooser = page.waitForEvent('filechooser');
    await page.keyboard.press('Enter');
    await (await chooser).setFiles(bad);
    const row = page.locator('#jobs tr[data-state="failed"]').first();
    await row.waitFor({ timeout: 60_000 });
    // The notice at the top ends with the job's outcome, not "queued".
    await expect.poll(() => page.locator('#notice').innerText(), { timeout: 10_000 }).toMatch(/失败 failed: upload "broken\.geojson"/);
    expect(await page.locator('#notice').getAttribute('class')).toContain('bad');
    // Named as the page's file input named it (X-File-Name), with its revision.
    expect(await row.locator('td.message').innerText()).toMatch(/upload "broken\.geojson" \(r\d+\): feature BSM=x: /);
    expect(await currentOf('parcels')).toBe('1.1.0');
  });

  it('rolls back from the version history', async () => {
    await page.click('tr[data-layer="parcels"] details.history summary');
    await page.click('tr[data-layer="parcels"] button[data-rollback="1.0.0"]');
    await page.waitForFunction(() => document.querySelector('tr[data-layer="parcels"] td.current')?.textContent === '1.0.0');
    const catalog = (await (await fetch(`${node.url}/catalog`)).json()) as { layers: { id: string; version: string }[] };
    expect(catalog.layers.find((l) => l.id === 'parcels')?.version).toBe('1.0.0');
    await page.locator('#audit td:has-text("rollback")').first().waitFor();
    expect(await page.locator('#notice').innerText()).toMatch(/1\.0\.0/);
    // The refused sign-in's 401 is the only resource error the browser reports.
    expect(log.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
