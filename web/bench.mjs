// Browser benchmark: serves dist/ (built by `trunk build --release`) on 127.0.0.1, runs a
// sweep in headless Chromium (WebGPU on SwiftShader, web/browser.mjs) from URL parameters, waits for
// window.paraformerResults and prints its table, like `paraformer bench` does natively.
//
//   node web/bench.mjs 'preset=cifar&depths=4&samples=5&warmup=2&backends=gpu,cpu' [results.json]
//
// Chromium: /usr/bin/chromium unless CHROMIUM names another. Timings are the page's: wall
// clock from submit until the logits are read back (the browser offers no timestamps here).
import { writeFileSync } from 'node:fs';
import { openBrowser } from './browser.mjs';

const query = process.argv[2] ?? 'preset=cifar&depths=4&samples=5&warmup=2';
const out = process.argv[3];
const { base, browser, close } = await openBrowser();
try {
  const [vw, vh] = (process.env.VIEWPORT || '1280x800').split('x').map(Number);
  const page = await browser.newPage({ viewport: { width: vw, height: vh } });
  await page.goto(`${base}/?${query}&autorun=1`);
  await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 60 * 60 * 1000, polling: 500 });
  const error = await page.evaluate(() => window.paraformerError ?? null);
  if (error) throw new Error(`the page reported: ${error}`);
  const r = await page.evaluate(() => window.paraformerResults);
  if (out) writeFileSync(out, JSON.stringify(r, null, 1));
  const a = r.context.adapter;
  console.log(`adapter: ${a.name} (${a.backend}, ${a.device_type}) ${a.driver} ${a.driver_info}`);
  console.log(`clock: wall (submit until the logits are read back), ${r.context.settings.samples} samples per point`);
  console.log('   L backend mode       median ms   p10 ms   p90 ms  GFLOP/s  crit  cold ms');
  for (const p of r.points) {
    console.log(`${String(p.depth).padStart(4)} ${(p.backend ?? 'gpu').padEnd(7)} ${p.mode.padEnd(9)} ${p.wall.median_ms.toFixed(2).padStart(10)} `
      + `${p.wall.p10_ms.toFixed(2).padStart(8)} ${p.wall.p90_ms.toFixed(2).padStart(8)} `
      + `${p.gflops_wall.toFixed(2).padStart(8)} ${String(p.critical_path).padStart(5)} ${p.cold_ms.toFixed(1).padStart(8)}`);
  }
} finally {
  await close();
}
