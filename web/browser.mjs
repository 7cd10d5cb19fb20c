// Serves dist/ (built by `trunk build --release`) on 127.0.0.1 and opens headless Chromium
// with WebGPU on SwiftShader: what the browser benchmark and the screenshots share.
// Chromium: /usr/bin/chromium unless CHROMIUM names another.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/// `{ base, browser, close }`: the page's address, the browser, and what stops both.
export async function openBrowser() {
  const dist = join(root, 'dist');
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
  } catch (e) {
    server.kill();
    throw e;
  }
  return { base, browser, close: async () => { await browser.close(); server.kill(); } };
}
