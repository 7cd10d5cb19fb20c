// Browser benchmark: serves dist/ (built by `trunk build --release`) on 127.0.0.1, runs a
// sweep in headless Chromium (WebGPU on SwiftShader) from URL parameters, waits for
// window.paraformerResults and prints its table, like `paraformer bench` does natively.
//
//   node web/bench.mjs 'preset=cifar&depths=4&samples=5&warmup=2&backends=gpu,cpu' [results.json]
//
// Chromium: /usr/bin/chromium unless CHROMIUM names another. Timings are the page's: wall
// clock from submit until the logits are read back (the browser offers no timestamps here).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const query = process.argv[2] ?? 'preset=cifar&depths=4&samples=5&warmup=2';
const out = process.argv[3];
if (!existsSync(join(dist, 'index.html'))) {
  console.error('dist/ is missing: run `trunk build --release` first');
  process.exit(2);
}
const port = 19000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dist], { stdio: 'ignore' });
let browser;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(base + '/')).ok) break;
    } catch { /* not up yet */ }
    if (i === 100) throw new Error(`no server on ${base}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader'],
  });
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
  await browser?.close();
  server.kill();
}
