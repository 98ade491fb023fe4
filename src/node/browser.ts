/**
 * The built site in headless Chromium, for the end-to-end tests (tests/e2e/harness.ts re-exports
 * all of this) and the site benchmark (src/bench/site.ts): serve dist/ from 127.0.0.1, and drive
 * Debian's chromium with playwright-core, offline, with or without WebGPU on SwiftShader.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST = join(ROOT, 'dist');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm', // required by WebAssembly.instantiateStreaming
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.bin': 'application/octet-stream',
};

/**
 * Cross-origin isolation (SharedArrayBuffer), needed only by TF.js's threaded wasm build. The site
 * does not use that build (see wasmThreads in src/engine/backend.ts), so by default the server
 * sends no such headers, like a plain static host.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Maps a URL path to a file under `dir` (directory → index.html); undefined when none. */
function fileFor(dir: string, urlPath: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return undefined;
  }
  const full = normalize(join(dir, path));
  if (full !== dir && !full.startsWith(dir + sep)) return undefined; // no escaping dist/
  for (const candidate of [full, join(full, 'index.html'), `${full}.html`]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Serves `dir` on 127.0.0.1 with a free port; `isolate` adds the cross-origin isolation headers. */
export async function serveDist(dir: string = DIST, opts: { isolate?: boolean } = {}): Promise<Served> {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html is missing: run \`npm run build\` first (npm run test:e2e does)`);
  }
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = fileFor(dir, req.url ?? '/');
    const notFound = join(dir, '404.html');
    const target = file ?? (existsSync(notFound) ? notFound : undefined);
    const headers = { ...(opts.isolate ? ISOLATION_HEADERS : {}), 'Cache-Control': 'no-store' };
    if (!target) {
      res.writeHead(404, { ...headers, 'Content-Type': MIME['.txt'] }).end('Not found');
      return;
    }
    res.writeHead(file ? 200 : 404, {
      ...headers,
      'Content-Type': MIME[extname(target).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': statSync(target).size,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(target).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Quiet, offline, container-friendly chromium. */
export const BASE_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * WebGPU on SwiftShader (a CPU Vulkan) in headless chromium 156. navigator.gpu exists without
 * flags, but requestAdapter() returns null: SwiftShader is a "fallback adapter", exposed only with
 * --enable-unsafe-webgpu. --use-webgpu-adapter=swiftshader pins it even where a GPU exists.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

/**
 * No GPU and no software GL: neither WebGPU (no adapter) nor WebGL, so the page must use wasm.
 * (--disable-3d-apis is not enough: WebGL on an OffscreenCanvas still works with it.)
 */
export const NO_GPU_ARGS = ['--disable-gpu', '--disable-software-rasterizer'];

export type GpuMode = 'webgpu' | 'no-adapter' | 'no-webgpu-api' | 'no-gpu';

export async function launchChromium(mode: GpuMode): Promise<Browser> {
  const extra = mode === 'webgpu' ? WEBGPU_ARGS : mode === 'no-gpu' ? NO_GPU_ARGS : [];
  return chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, ...extra] });
}

/**
 * A context that can reach only 127.0.0.1 (the site must work offline); any other request is
 * aborted and reported. 'no-webgpu-api' removes navigator.gpu, as in browsers without WebGPU:
 * chromium 156 keeps it despite --disable-features=WebGPU or --disable-blink-features=WebGPU.
 */
export async function newContext(
  browser: Browser,
  mode: GpuMode,
  offsite: string[],
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, ...options });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    offsite.push(url.href);
    return route.abort();
  });
  if (mode === 'no-webgpu-api') {
    await context.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
  }
  return context;
}
