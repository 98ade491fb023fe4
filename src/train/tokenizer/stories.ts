/**
 * The complete stories of a TinyStories text file: stories end with an `<|endoftext|>` line, and
 * whatever follows the last one is dropped (a file cut at a fixed size ends mid-story, maybe
 * mid-character). Each story is trimmed; empty ones are skipped.
 */
export function completeStories(text: string): string[] {
  return text
    .split('<|endoftext|>')
    .slice(0, -1)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
