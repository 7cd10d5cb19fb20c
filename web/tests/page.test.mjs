// Browser test: serves dist/ (built by `scripts/dev.sh`: trunk build --release, then gzip
// copies) on 127.0.0.1 with gzip as a static host sends it, opens the page in headless
// Chromium with WebGPU on SwiftShader, runs a small sweep from URL parameters and checks the
// results the page exposes as window.paraformerResults; measures the first screen's
// download against its budget and checks that the trained model comes only when needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const shots = join(root, 'target', 'screenshots');
const port = 18000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
let server;
let browser;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
// No sandbox (root) and no calls home (this machine has no internet).
const quiet = [
  '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

async function waitForServer() {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(base + '/');
      if (r.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no server on ${base}`);
}

before(async () => {
  assert.ok(existsSync(join(dist, 'index.html')), 'dist/ is missing: run `trunk build --release` first');
  mkdirSync(shots, { recursive: true });
  server = spawn('python3', [join(root, 'scripts', 'serve.py'), String(port), dist], { stdio: 'ignore' });
  await waitForServer();
  // playwright gives every launch a fresh temporary profile directory.
  browser = await chromium.launch({
    executablePath,
    args: [...quiet, '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

function consoleErrors(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

test('an autorun URL measures both modes at every depth on both backends', { timeout: 20 * 60 * 1000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = consoleErrors(page);
  // The heuristics (autotune=off): this test checks their choices and the plan's shape.
  await page.goto(`${base}/?preset=mnist&depths=1..=3&samples=3&warmup=1&backends=gpu,cpu&autorun=1&autotune=off`);
  await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 15 * 60 * 1000, polling: 500 });
  const error = await page.evaluate(() => window.paraformerError ?? null);
  assert.equal(error, null, `the page reported: ${error}`);
  const r = await page.evaluate(() => window.paraformerResults);
  assert.equal(r.schema, 'paraformer-bench/2');
  assert.equal(r.complete, true);
  assert.equal(r.context.target, 'wasm32');
  const adapter = r.engines.gpu.adapter;
  assert.ok(adapter.name.length > 0 || adapter.backend.length > 0);
  assert.deepEqual(r.context.settings.depths, [1, 2, 3]);
  assert.ok(r.page_load.first_frame_ms > 0, JSON.stringify(r.page_load));
  assert.ok(r.page_load.adapter_ready_ms >= r.page_load.first_frame_ms, JSON.stringify(r.page_load));
  assert.deepEqual(r.context.settings.backends, ['gpu', 'cpu']);
  // The wasm CPU engine runs on the page's one thread (no threads without nightly Rust).
  assert.equal(r.engines.cpu.threads, 1);
  assert.equal(r.engines.cpu.simd, 'simd128');
  assert.equal(r.points.length, 2 * 2 * 3);
  for (const backend of ['gpu', 'cpu']) {
    for (const depth of [1, 2, 3]) {
      for (const mode of ['serial', 'parallel']) {
        const p = r.points.find((q) => q.backend === backend && q.mode === mode && q.depth === depth);
        assert.ok(p, `${backend} ${mode} L=${depth} measured`);
        assert.equal(p.wall_samples_ms.length, 3);
        assert.ok(p.wall.min_ms > 0 && p.wall.p10_ms <= p.wall.median_ms && p.wall.median_ms <= p.wall.p90_ms);
        assert.ok(p.gflops_wall > 0);
        assert.ok(backend === 'cpu' ? p.runs_per_sample >= 1 : p.runs_per_sample === 1);
      }
      const s = r.points.find((q) => q.backend === backend && q.mode === 'serial' && q.depth === depth);
      const par = r.points.find((q) => q.backend === backend && q.mode === 'parallel' && q.depth === depth);
      assert.equal(s.critical_path, 7 * depth + 4);
      assert.equal(par.critical_path, 11);
    }
  }
  assert.ok(r.fits.gpu && r.fits.cpu, 'a fit per backend');
  // The roofs, probed in the page (SwiftShader, the wasm CPU engine): plausible, and no
  // point's rate above its backend's.
  for (const backend of ['gpu', 'cpu']) {
    const roof = r.device_peak[backend];
    assert.ok(roof && roof.gflops > 0 && roof.gbytes_per_s > 0, JSON.stringify(r.device_peak));
    for (const p of r.points.filter((q) => q.backend === backend)) {
      assert.ok(p.gflops_wall <= 1.2 * roof.gflops, `${backend} ${p.mode} L=${p.depth}: ${p.gflops_wall} GFLOP/s above the roof ${JSON.stringify(roof)}`);
    }
  }
  // The kernels the GPU points ran: the browser's heuristic, 64 invocations per linear
  // workgroup, serial shapes with one lane and parallel ones with K.
  assert.ok(r.kernels.length > 0);
  for (const k of r.kernels) assert.equal(k.source, 'heuristic', JSON.stringify(k));
  assert.ok(r.kernels.filter((k) => k.op === 'linear').every((k) => k.variant === '9x16/64'));
  assert.deepEqual([...new Set(r.kernels.filter((k) => k.op === 'attention' && k.mode === 'parallel').map((k) => k.shape.nz))].sort(), [1, 2, 3]);
  for (const p of r.points) {
    console.log(`${p.backend} ${p.mode} L=${p.depth}: ${p.wall.median_ms.toFixed(2)} ms`);
  }
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, 'web.png') });
  assert.deepEqual(errors, [], 'no console errors');
  // The finished sweep's share link opens the run overlaid, without measuring anything.
  const link = await page.evaluate(() => window.paraformerShareLink);
  assert.ok(link.startsWith(`${base}/?preset=mnist`) && link.includes('#share=v1.'), link);
  assert.ok(!link.includes('autorun'), link);
  assert.ok(link.length < 2000, `${link.length} characters`);
  console.log(`share link: ${link.length} characters`);
  await page.close();
  const shared = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const sharedErrors = consoleErrors(shared);
  await shared.goto(link);
  await shared.waitForFunction(() => /overlaid the shared run/.test(document.getElementById('messages').textContent), null, { timeout: 4 * 60 * 1000 });
  assert.match(await shared.textContent('#messages'), /overlaid the shared run: shared: .*mnist/);
  await shared.waitForSelector('#status', { state: 'detached', timeout: 4 * 60 * 1000 });
  await shared.waitForTimeout(500);
  await shared.screenshot({ path: join(shots, 'web-shared.png') });
  assert.equal(await shared.evaluate(() => window.paraformerError ?? null), null);
  assert.deepEqual(sharedErrors, [], 'no console errors');
  await shared.close();
});

test('a damaged share link is explained and the page works on', { timeout: 5 * 60 * 1000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = consoleErrors(page);
  await page.goto(`${base}/?preset=mnist#share=v1.bm90LWEtbGluaw`);
  await page.waitForFunction(() => /shared link is damaged/.test(document.getElementById('messages').textContent), null, { timeout: 4 * 60 * 1000 });
  assert.match(await page.textContent('#messages'), /bad input: the shared link is damaged: not deflate data/);
  // The loading notice goes once the app runs: not a blank page.
  await page.waitForSelector('#status', { state: 'detached', timeout: 4 * 60 * 1000 });
  assert.ok(await page.isVisible('#the_canvas_id'));
  assert.equal(await page.evaluate(() => window.paraformerError ?? null), null);
  assert.deepEqual(errors, [], 'no console errors');
  await page.close();
});

// What the first screen may download, compressed as served (README, "The page's weight").
const FIRST_SCREEN_BUDGET = 3.0e6;

// Bytes of every response as it travelled (Content-Length of the compressed body).
function transfers(page) {
  const seen = [];
  page.on('response', async (r) => {
    const length = Number(r.headers()['content-length'] ?? 0);
    seen.push({ url: r.url(), bytes: length, encoding: r.headers()['content-encoding'] ?? '' });
  });
  return seen;
}

test('the first screen is small and the trained model comes when Classify opens', { timeout: 10 * 60 * 1000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = consoleErrors(page);
  const seen = transfers(page);
  await page.goto(`${base}/?preset=mnist`);
  await page.waitForFunction(() => window.paraformerLoad || window.paraformerError, null, { timeout: 4 * 60 * 1000 });
  const load = await page.evaluate(() => window.paraformerLoad);
  const total = seen.reduce((n, r) => n + r.bytes, 0);
  const list = seen.map((r) => `${r.url.replace(base, '')} ${r.bytes} ${r.encoding}`).join('\n');
  console.log(`first screen: ${(total / 1e6).toFixed(2)} MB in ${seen.length} responses; first frame ${load.first_frame_ms.toFixed(0)} ms, adapter ready ${load.adapter_ready_ms.toFixed(0)} ms after navigation\n${list}`);
  assert.ok(!seen.some((r) => r.url.endsWith('.safetensors')), `no model on the first screen:\n${list}`);
  assert.ok(seen.some((r) => r.url.endsWith('.wasm') && r.encoding === 'gzip'), `the wasm travels gzipped:\n${list}`);
  assert.ok(total <= FIRST_SCREEN_BUDGET, `first screen ${total} bytes, budget ${FIRST_SCREEN_BUDGET}:\n${list}`);
  await page.close();
  // Classify fetches the model and the test images, then classifies as before.
  const classify = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const later = transfers(classify);
  const classifyErrors = consoleErrors(classify);
  await classify.goto(`${base}/?tab=classify`);
  await classify.waitForFunction(() => /loaded the trained model/.test(document.getElementById('messages').textContent), null, { timeout: 4 * 60 * 1000 });
  assert.match(await classify.textContent('#messages'), /loaded the trained model \(8 branches\) and 2000 test images/);
  for (const f of ['mnist-paraformer.safetensors', 'mnist-test.safetensors']) {
    assert.ok(later.some((r) => r.url.endsWith(f)), `${f} fetched`);
  }
  await classify.waitForTimeout(500);
  await classify.screenshot({ path: join(shots, 'web-classify.png') });
  assert.deepEqual(errors, [], 'no console errors');
  assert.deepEqual(classifyErrors, [], 'no console errors');
  await classify.close();
});

test('the adapter view checks the model while a sweep runs, one job after the other', { timeout: 20 * 60 * 1000 }, async () => {
  // The view's GPU-vs-reference check and the sweep share the one device: run side by side
  // their error scopes interleaved and wgpu panicked.
  const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
  const errors = consoleErrors(page);
  // Its sweep forces kernel variants (URL parameter `kernel`, once per op).
  await page.goto(`${base}/?preset=mnist&depths=1..=2&samples=2&warmup=0&autorun=1&autotune=off&tab=adapter&kernel=linear=9x16/8&kernel=attention=4q/4`);
  await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 15 * 60 * 1000, polling: 500 });
  assert.equal(await page.evaluate(() => window.paraformerError ?? null), null);
  const r = await page.evaluate(() => window.paraformerResults);
  assert.equal(r.points.length, 4);
  assert.deepEqual(r.context.settings.kernels, ['linear=9x16/8', 'attention=4q/4']);
  for (const k of r.kernels) {
    const want = { linear: ['9x16/8', 'forced'], attention: ['4q/4', 'forced'] }[k.op] ?? ['row-per-invocation/64', 'heuristic'];
    assert.deepEqual([k.variant, k.source], want, JSON.stringify(k));
  }
  assert.deepEqual(errors, [], 'no console errors');
  await page.close();
});

test('kernels are tuned in the page, kept in its storage and replayed from it', { timeout: 20 * 60 * 1000 }, async () => {
  // One page (one storage) loaded four times: tuning, the cache, off, a corrupt cache.
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = consoleErrors(page);
  const url = `${base}/?preset=mnist&depths=1..=2&samples=2&warmup=0&autorun=1`;
  const sweep = async (query) => {
    await page.goto(url + query);
    await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 15 * 60 * 1000, polling: 500 });
    assert.equal(await page.evaluate(() => window.paraformerError ?? null), null);
    return page.evaluate(() => window.paraformerResults);
  };
  const first = await sweep('');
  assert.equal(first.context.settings.autotune, 'on');
  assert.ok(first.tuning.tuned > 0 && first.tuning.ms > 0, JSON.stringify(first.tuning));
  const tuned = first.kernels.filter((k) => k.source === 'tuned');
  assert.ok(tuned.length > 0, JSON.stringify(first.kernels));
  for (const k of tuned) {
    // Fastest first; the choice is the fastest, or the heuristic (the browser's: 9x16/64
    // for a linear) within 5% of it.
    const timed = k.candidates.filter((c) => c.ms !== null && c.ms !== undefined).map((c) => c.ms);
    assert.equal(k.candidates[0].ms, Math.min(...timed), JSON.stringify(k));
    const chosen = k.candidates.find((c) => c.variant === k.variant);
    assert.ok(chosen && chosen.ms <= k.candidates[0].ms * 1.05, JSON.stringify(k));
  }
  assert.match(await page.textContent('#messages'), /kernel tuning: \d+ keys, \d+ timed/);
  const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('paraformer.kernels')));
  assert.ok(Object.keys(stored.entries).length >= tuned.length, JSON.stringify(stored));

  // Loaded again: what was tuned comes from the storage, the same variant.
  const second = await sweep('');
  for (const k of tuned) {
    const again = second.kernels.find((q) => q.op === k.op && q.mode === k.mode && JSON.stringify(q.shape) === JSON.stringify(k.shape));
    assert.deepEqual([again.variant, again.source], [k.variant, 'cache'], JSON.stringify(again));
  }
  assert.ok(second.tuning.cached >= tuned.length, JSON.stringify(second.tuning));

  // Off: the heuristics, and no tuning in the report.
  const off = await sweep('&autotune=off');
  assert.equal(off.tuning, undefined);
  for (const k of off.kernels) assert.equal(k.source, 'heuristic', JSON.stringify(k));

  // A corrupt cache is one warning; tuning starts over and rewrites it.
  await page.evaluate(() => localStorage.setItem('paraformer.kernels', '{broken'));
  const fresh = await sweep('');
  assert.equal(fresh.tuning.cached, 0, JSON.stringify(fresh.tuning));
  assert.match(fresh.tuning.warnings.join('\n'), /ignoring the kernel cache localStorage\[paraformer\.kernels\]/);
  JSON.parse(await page.evaluate(() => localStorage.getItem('paraformer.kernels')));
  assert.deepEqual(errors, [], 'no console errors');
  await page.close();
});

test('every kernel variant computes what the CPU reference does, in both modes', { timeout: 10 * 60 * 1000 }, async () => {
  // The adapter view checks the GPU against the reference with the URL's forced kernels and
  // hands the result to the page; each load forces one variant of every op.
  const sets = [
    ['mnist', ['linear=9x16/64', 'layer_norm=row-per-group/32', 'attention=4q/8']],
    ['cifar', ['linear=4x8/64', 'layer_norm=row-per-invocation/16', 'attention=4q/64']],
    ['mnist', ['linear=4x4/32', 'layer_norm=row-per-group/1', 'attention=1q/1']],
    ['cifar', ['linear=1x4/16', 'layer_norm=row-per-invocation/256', 'attention=1q/32']],
    ['mnist', ['linear=tiled/64', 'layer_norm=row-per-group/64', 'attention=4q/32']],
    ['cifar', ['linear=tiled/64', 'layer_norm=row-per-invocation/64', 'attention=1q/64']],
    // Split-k: the parts' sums, then a second dispatch that adds them.
    ['mnist', ['linear=4x4/64/split4', 'layer_norm=row-per-group/32', 'attention=4q/32']],
    ['cifar', ['linear=9x16/64/split3', 'layer_norm=row-per-invocation/64', 'attention=4q/32']],
  ];
  const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
  const errors = consoleErrors(page);
  for (const [preset, kernels] of sets) {
    const query = kernels.map((k) => `kernel=${k}`).join('&');
    await page.goto(`${base}/?preset=${preset}&depths=1..=2&tab=adapter&${query}`);
    await page.waitForFunction(() => window.paraformerCheck || window.paraformerError, null, { timeout: 4 * 60 * 1000, polling: 250 });
    assert.equal(await page.evaluate(() => window.paraformerError ?? null), null);
    const c = await page.evaluate(() => window.paraformerCheck);
    const what = `${preset} ${kernels.join(' ')}: ${JSON.stringify(c)}`;
    assert.ok(c.max_abs_error <= 1e-3 * Math.max(1, c.scale), what);
    for (const k of c.kernels) {
      assert.equal(k.source, 'forced', what);
      assert.ok(kernels.includes(`${k.op}=${k.variant}`), what);
    }
    assert.deepEqual([...new Set(c.kernels.map((k) => k.mode))].sort(), ['parallel', 'serial'], what);
  }
  assert.deepEqual(errors, [], 'no console errors');
  await page.close();
});

test('f16 runs where the browser offers shader-f16 and is explained where it does not', { timeout: 5 * 60 * 1000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
  await page.goto(`${base}/?preset=mnist`);
  const hasF16 = await page.evaluate(async () => (await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })).features.has('shader-f16'));
  if (hasF16) {
    // The adapter view's check, in f16, against the f32 reference.
    await page.goto(`${base}/?preset=mnist&depths=1..=2&tab=adapter&precision=f16`);
    await page.waitForFunction(() => window.paraformerCheck || window.paraformerError, null, { timeout: 4 * 60 * 1000, polling: 250 });
    assert.equal(await page.evaluate(() => window.paraformerError ?? null), null);
    const c = await page.evaluate(() => window.paraformerCheck);
    assert.equal(c.precision, 'f16');
    assert.ok(c.max_abs_error <= 5e-3 * Math.max(1, c.scale), JSON.stringify(c));
  } else {
    // SwiftShader (CI) has no shader-f16: a link asking for f16 gets the reason.
    await page.goto(`${base}/?preset=mnist&depths=1&samples=1&warmup=0&precision=f16&autorun=1`);
    await page.waitForFunction(() => window.paraformerError || window.paraformerResults, null, { timeout: 4 * 60 * 1000, polling: 250 });
    const e = await page.evaluate(() => window.paraformerError ?? null);
    assert.match(e ?? 'no error', /f16 needs the SHADER_F16 feature \(WebGPU: shader-f16\), which adapter '.*' \(.*\) does not offer: run in f32/);
  }
  await page.close();
});

test('a model that cannot be fetched is explained and the rest of the app works', { timeout: 20 * 60 * 1000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.route('**/mnist-paraformer.safetensors', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`${base}/?tab=classify&preset=mnist&depths=1..=2&samples=2&warmup=0&autorun=1`);
  await page.waitForFunction(() => /could not be fetched/.test(document.getElementById('messages').textContent), null, { timeout: 4 * 60 * 1000 });
  assert.match(await page.textContent('#messages'),
    /the trained model could not be fetched: mnist-paraformer\.safetensors: the server answered 404/);
  // The sweep from the URL still runs and publishes its results.
  await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 15 * 60 * 1000, polling: 500 });
  assert.equal(await page.evaluate(() => window.paraformerError ?? null), null);
  assert.equal(await page.evaluate(() => window.paraformerResults.points.length), 4);
  await page.close();
});

test('bad URL parameters are explained on the page', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/?preset=imagenet`);
  await page.waitForFunction(() => window.paraformerError, null, { timeout: 60000 });
  const text = await page.textContent('#status');
  assert.match(text, /invalid value 'imagenet' for 'preset <NAME>' \[possible values: cifar, vit-tiny-224, mnist\]/);
  // A value that looks like markup stays text.
  await page.goto(`${base}/?preset=${encodeURIComponent('<b id="injected">x</b>')}`);
  await page.waitForFunction(() => window.paraformerError, null, { timeout: 60000 });
  assert.equal(await page.locator('#injected').count(), 0);
  assert.match(await page.textContent('#status'), /invalid value '<b id="injected">x<\/b>' for 'preset/);
  await page.goto(`${base}/?kernel=conv=3x3/8`);
  await page.waitForFunction(() => window.paraformerError, null, { timeout: 60000 });
  assert.match(await page.textContent('#status'), /unknown op 'conv'; ops with variants: linear, layer_norm, attention/);
  await page.close();
});

test('a corrupt file dropped on the page is explained in the page', { timeout: 5 * 60 * 1000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = consoleErrors(page);
  await page.goto(`${base}/?preset=mnist`);
  // The loading notice goes once the app runs.
  await page.waitForSelector('#status', { state: 'detached', timeout: 4 * 60 * 1000 });
  const drop = (name, bytes) => page.evaluate(([name, bytes]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], name));
    const canvas = document.getElementById('the_canvas_id');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      canvas.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, [name, bytes]);
  const said = (re) => page.waitForFunction((src) => new RegExp(src).test(document.getElementById('messages').textContent), re.source, { timeout: 60000 });
  await drop('broken.safetensors', [7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  await said(/broken/);
  assert.match(await page.textContent('#messages'),
    /broken\.safetensors: bad checkpoint: not a valid safetensors file: header length \d+ exceeds/);
  // The app goes on: a good checkpoint dropped next loads.
  const good = readFileSync(join(root, 'tests', 'fixtures', 'parity', 'model.safetensors'));
  await drop('model.safetensors', [...good]);
  await said(/loaded model\.safetensors/);
  assert.deepEqual(errors, [], 'no console errors');
  await page.close();
});

test('a browser without WebGPU runs every sweep on the CPU engine and says how to get WebGPU', { timeout: 10 * 60 * 1000 }, async () => {
  // Without --enable-unsafe-webgpu this Chromium has the API but no adapter; egui draws
  // with WebGL (SwiftShader).
  const plain = await chromium.launch({ executablePath, args: [...quiet, '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
  try {
    const page = await plain.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = consoleErrors(page);
    await page.goto(`${base}/?preset=mnist&depths=1..=2&samples=2&warmup=0&autorun=1&backends=gpu`);
    await page.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 5 * 60 * 1000, polling: 500 });
    assert.equal(await page.evaluate(() => window.paraformerError ?? null), null);
    const noAdapter = /no GPU adapter found: open the page in a browser with WebGPU .*enable-unsafe-webgpu/;
    assert.match(await page.evaluate(() => window.paraformerNotice), noAdapter);
    const r = await page.evaluate(() => window.paraformerResults);
    assert.equal(r.schema, 'paraformer-bench/2');
    assert.equal(r.complete, true);
    // Asked for the GPU engine, measured on the CPU engine alone: nothing of a GPU recorded.
    assert.deepEqual(r.context.settings.backends, ['cpu']);
    assert.deepEqual(Object.keys(r.engines), ['cpu']);
    assert.equal(r.engines.cpu.simd, 'simd128');
    assert.equal(r.points.length, 2 * 2);
    for (const p of r.points) {
      assert.equal(p.backend, 'cpu');
      assert.ok(p.wall.median_ms > 0 && p.gflops_wall > 0, JSON.stringify(p.wall));
      assert.equal(p.critical_path, p.mode === 'serial' ? 7 * p.depth + 4 : 11);
    }
    assert.ok(r.fits.cpu, 'the CPU engine has its fit');
    await page.screenshot({ path: join(shots, 'no-webgpu-latency.png') });
    assert.deepEqual(errors.filter((e) => !/WebGPU|webgpu|adapter/.test(e)), [], 'no console errors but the adapter\'s');
    await page.close();
    // A browser without the API at all (as older ones are): the same, said in its words.
    const bare = await plain.newPage({ viewport: { width: 1280, height: 800 } });
    await bare.addInitScript(() => { delete Navigator.prototype.gpu; });
    await bare.goto(`${base}/?preset=mnist&depths=1&samples=2&warmup=0&autorun=1`);
    await bare.waitForFunction(() => window.paraformerResults || window.paraformerError, null, { timeout: 5 * 60 * 1000, polling: 500 });
    assert.equal(await bare.evaluate(() => 'gpu' in navigator), false);
    assert.equal(await bare.evaluate(() => window.paraformerError ?? null), null);
    const notice = await bare.evaluate(() => window.paraformerNotice);
    assert.match(notice, /this browser has no WebGPU/);
    assert.match(notice, /enable-unsafe-webgpu/);
    const b = await bare.evaluate(() => window.paraformerResults);
    assert.ok(b.points.length === 2 && b.points.every((p) => p.backend === 'cpu'), JSON.stringify(b.points));
    await bare.screenshot({ path: join(shots, 'no-webgpu-api.png') });
  } finally {
    await plain.close();
  }
});
