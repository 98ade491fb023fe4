// The reference lets plain `tsc` resolve astro:content before `astro sync` writes .astro/types.d.ts.
/// <reference types="astro/client" />
import { existsSync, readdirSync } from 'node:fs';
import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import type { Loader } from 'astro/loaders';
import { z } from 'astro/zod';

const CHAPTERS_DIR = './content/chapters/';
const PATTERN = '**/*.mdx';

/**
 * The glob loader, but quiet while content/chapters/ holds no chapter yet (glob warns "No files
 * found"). In dev, the first chapter added starts the real loader, which then watches the folder.
 */
function chaptersLoader(): Loader {
  const inner = glob({ pattern: PATTERN, base: CHAPTERS_DIR });
  return {
    name: inner.name,
    load: async (ctx) => {
      const dir = new URL(CHAPTERS_DIR, ctx.config.root);
      const hasMdx = () =>
        existsSync(dir) && readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.mdx'));
      if (hasMdx()) return inner.load(ctx);
      ctx.store.clear();
      let started = false;
      ctx.watcher?.on('add', (path) => {
        if (started || !path.endsWith('.mdx') || !hasMdx()) return;
        started = true;
        void inner.load(ctx);
      });
    },
  };
}

/** One MDX file per chapter; the home page lists them by `number`. */
const chapters = defineCollection({
  loader: chaptersLoader(),
  schema: z.object({
    title: z.string(),
    number: z.number().int().nonnegative(),
    summary: z.string(),
  }),
});

export const collections = { chapters };
