// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import preact from '@astrojs/preact';
import { unified } from '@astrojs/markdown-remark';
import remarkMath from 'remark-math';
import rehypeKatex from 'rehype-katex';

export default defineConfig({
  output: 'static',
  // Math is typeset at build time to MathML: no fonts or stylesheet to ship, readable by screen readers.
  // Astro's default processor (Sätteri) parses math but cannot run KaTeX, so chapters use unified.
  markdown: { processor: unified({ remarkPlugins: [remarkMath], rehypePlugins: [[rehypeKatex, { output: 'mathml' }]] }) },
  integrations: [mdx(), preact()],
  vite: {
    // A module worker lets Vite split the engine: each TF.js backend is its own chunk, loaded
    // only when the worker picks it.
    worker: { format: 'es' },
    // Pre-bundle TF.js when `astro dev` starts; otherwise the first visit finds them, re-optimises
    // and reloads the page (504 "Outdated Optimize Dep" for modules already requested).
    optimizeDeps: {
      include: [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-backend-webgl',
        '@tensorflow/tfjs-backend-webgpu',
      ],
    },
  },
});
