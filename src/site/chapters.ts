/** The chapters collection in book order (build time only). */
import { getCollection, type CollectionEntry } from 'astro:content';

export type Chapter = CollectionEntry<'chapters'>;

// getCollection() warns about an empty collection, so ask only once a chapter file exists.
const chapterFiles = import.meta.glob('/content/chapters/**/*.mdx', { query: '?raw', import: 'default' });

export async function getChapters(): Promise<Chapter[]> {
  if (Object.keys(chapterFiles).length === 0) return [];
  const all: Chapter[] = await getCollection('chapters');
  return all.sort((a, b) => a.data.number - b.data.number || a.id.localeCompare(b.id));
}

/** "3. Rotary position embeddings" */
export function chapterLabel(chapter: Chapter): string {
  return `${chapter.data.number}. ${chapter.data.title}`;
}
