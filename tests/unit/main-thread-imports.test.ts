/**
 * The page's own code (widgets, site scripts, the engine client) runs on the main thread; the
 * engine, with TensorFlow.js, runs in the worker. A static import of a module that reaches
 * TF.js would bundle it into every page. This follows the static imports (type-only ones are
 * erased) from every page module and names the path to any that does.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PAGE_DIRS = ['components', 'src/client', 'src/site', 'src/layouts', 'src/pages'];
const SOURCE = /\.(ts|tsx|astro|mjs)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : SOURCE.test(name) ? [path] : [];
  });
}

/**
 * Static value imports and re-exports of a module: [specifier, ...]. Of an .astro file only its
 * <script> blocks reach the page; its frontmatter runs at build time.
 */
function staticImports(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const code = path.endsWith('.astro') ? [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n') : text;
  const specifiers: string[] = [];
  for (const m of code.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) if (!m[2]) specifiers.push(m[3]);
  return specifiers;
}

function resolveRelative(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return null;
}

/** The import chain from `entry` to a module that imports TF.js, or null. */
function pathToTfjs(entry: string, seen = new Set<string>()): string[] | null {
  if (seen.has(entry)) return null;
  seen.add(entry);
  for (const specifier of staticImports(entry)) {
    if (specifier.startsWith('@tensorflow/')) return [relative(ROOT, entry), specifier];
    if (!specifier.startsWith('.') || !SOURCE.test(resolveRelative(entry, specifier) ?? '')) continue;
    const chain = pathToTfjs(resolveRelative(entry, specifier)!, seen);
    if (chain) return [relative(ROOT, entry), ...chain];
  }
  return null;
}

describe('main-thread modules', () => {
  it('import no TensorFlow.js, directly or through the engine', () => {
    const entries = PAGE_DIRS.flatMap((d) => filesUnder(join(ROOT, d))).filter((f) => !f.includes('/worker/'));
    expect(entries.length).toBeGreaterThan(50);
    const reaching = entries.map((e) => pathToTfjs(e)).filter((chain) => chain !== null);
    expect(reaching.map((chain) => chain.join(' → '))).toEqual([]);
  });

  it('would see an import of TF.js through the engine', () => {
    // The walker itself: the worker's handler reaches TF.js through the engine.
    expect(pathToTfjs(join(ROOT, 'src/worker/handler.ts'))).not.toBeNull();
  });
});
