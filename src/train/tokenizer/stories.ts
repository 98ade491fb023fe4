import { splitStories } from '../../engine/evaluate.ts';

const SEPARATOR = '<|endoftext|>';

/**
 * The complete stories of a TinyStories text file: stories end with an `<|endoftext|>` line, and
 * whatever follows the last one is dropped (a file cut at a fixed size ends mid-story, maybe
 * mid-character). Each story is trimmed; empty ones are skipped.
 */
export function completeStories(text: string): string[] {
  const end = text.lastIndexOf(SEPARATOR);
  return end < 0 ? [] : splitStories(text.slice(0, end));
}
