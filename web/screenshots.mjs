// Screenshots of every tab of the page at the given widths, each after a small sweep of
// both backends: target/screenshots/web-<tab>-<width>.png.
//
//   node web/screenshots.mjs [1024,1600]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser, root } from './browser.mjs';

const TABS = ['latency', 'speedup', 'profile', 'live', 'adapter', 'classify', 'accuracy'];
const widths = (process.argv[2] ?? '1024,1600').split(',').map(Number);
const shots = join(root, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });
const { base, browser, close } = await openBrowser();
try {
  for (const width of widths) {
    for (const tab of TABS) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      // The live view runs its loop instead of a sweep (a sweep would stop it).
      const run = tab === 'live' ? 'live=1' : 'autorun=1';
      await page.goto(`${base}/?preset=mnist&depths=1..=3&samples=3&warmup=1&backends=gpu,cpu&profile=1&${run}&tab=${tab}`);
      if (tab === 'live') await page.waitForTimeout(5000);
      else await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 10 * 60 * 1000, polling: 500 });
      const error = await page.evaluate(() => window.paraformerError ?? null);
      if (error) throw new Error(`${tab} at ${width}: the page reported: ${error}`);
      // The trained model's views fetch it on first use; the rest redraw once more.
      await page.waitForTimeout(tab === 'classify' || tab === 'accuracy' ? 4000 : 1500);
      const path = join(shots, `web-${tab}-${width}.png`);
      await page.screenshot({ path });
      console.log(`wrote ${path}`);
      await page.close();
    }
  }
} finally {
  await close();
}
