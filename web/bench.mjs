// Browser benchmark: serves dist/ (built by `trunk build --release`) on 127.0.0.1, runs a
// sweep in headless Chromium (WebGPU on SwiftShader, web/browser.mjs) from URL parameters, waits for
// window.paraformerResults and prints its table, like `paraformer bench` does natively.
//
//   node web/bench.mjs 'preset=cifar&depths=4&samples=5&warmup=2&backends=gpu,cpu' [results.json]
//   node web/bench.mjs --ab ROUNDS 'QUERY_A' 'QUERY_B'
//
// --ab loads both queries in turn, ROUNDS times each, in one page (one browser storage, so
// kernels tuned by one load are in the cache of the next) and prints each query's median of
// the runs' medians per (mode, L), and its kernel tuning time.
//
// Chromium: /usr/bin/chromium unless CHROMIUM names another. Timings are the page's: wall
// clock from submit until the logits are read back (the browser offers no timestamps here).
import { writeFileSync } from 'node:fs';
import { openBrowser } from './browser.mjs';

const median = (v) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function sweep(page, base, query) {
  await page.goto(`${base}/?${query}&autorun=1`);
  await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 60 * 60 * 1000, polling: 500 });
  const error = await page.evaluate(() => window.paraformerError ?? null);
  if (error) throw new Error(`the page reported: ${error}`);
  return page.evaluate(() => window.paraformerResults);
}

if (process.argv[2] === '--ab') {
  const [rounds, ...queries] = [Number(process.argv[3]), process.argv[4], process.argv[5]];
  const { base, browser, close } = await openBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const runs = queries.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, q] of queries.entries()) runs[i].push(await sweep(page, base, q));
    }
    for (const [i, q] of queries.entries()) {
      const per = new Map();
      for (const r of runs[i]) {
        for (const p of r.points) {
          const key = `${p.backend ?? 'gpu'} ${p.mode} L=${p.depth}`;
          per.set(key, [...(per.get(key) ?? []), p.wall.median_ms]);
        }
      }
      const cells = [...per].map(([k, v]) => `${k} ${median(v).toFixed(2)} ms (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`);
      const tuning = runs[i].map((r) => (r.tuning ? `${Math.round(r.tuning.ms)}` : '-')).join(',');
      console.log(`${q}: ${cells.join('  ')}  tuning ms ${tuning}`);
      // The last run's kernel per (op, mode, shape), and where it came from.
      for (const k of runs[i].at(-1).kernels) {
        const s = k.shape;
        console.log(`  ${k.op} ${k.mode} ${s.rows}x${s.n}${s.k ? `x${s.k}` : ''} z${s.nz}: ${k.variant} (${k.source})`);
      }
    }
  } finally {
    await close();
  }
  process.exit(0);
}

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
  for (const [backend, e] of Object.entries(r.engines)) {
    const a = e.adapter;
    console.log(a ? `${backend} engine: ${a.name} (${a.backend}, ${a.device_type}) ${a.driver} ${a.driver_info}`
      : `${backend} engine: ${e.simd}, ${e.threads} thread(s)`);
  }
  console.log(`clock: wall (start of a run until its logits are in memory), ${r.context.settings.samples} samples per point`);
  console.log('   L backend mode       median ms   p10 ms   p90 ms  GFLOP/s  crit  cold ms');
  for (const p of r.points) {
    console.log(`${String(p.depth).padStart(4)} ${(p.backend ?? 'gpu').padEnd(7)} ${p.mode.padEnd(9)} ${p.wall.median_ms.toFixed(2).padStart(10)} `
      + `${p.wall.p10_ms.toFixed(2).padStart(8)} ${p.wall.p90_ms.toFixed(2).padStart(8)} `
      + `${p.gflops_wall.toFixed(2).padStart(8)} ${String(p.critical_path).padStart(5)} ${p.cold_ms.toFixed(1).padStart(8)}`);
  }
} finally {
  await close();
}
