/**
 * Making a story worse by a known amount: word-level edits (a word repeated, two words swapped, a
 * word replaced by one from another story), applied to a fixed share of the words. The more words
 * edited, the clearer the preference for the original; that share is the "rating" of the pair.
 */
import { XorShiftRng } from '../../engine/sampling/rng.ts';
import type { Rating } from './ratings.ts';

/** Share of the excerpt's words edited for each rating; "negligibly better" edits a single word. */
export const EDIT_SHARE: Readonly<Record<Rating, number>> = {
  significantlyBetter: 0.5,
  better: 0.25,
  slightlyBetter: 0.1,
  negligiblyBetterUnsure: 0,
};

export type EditKind = 'repeat' | 'swap' | 'replace';
const KINDS: readonly EditKind[] = ['repeat', 'swap', 'replace'];

/** How many edits a text of `words` words gets for `rating` (at least one, so every pair differs). */
export function editCount(rating: Rating, words: number): number {
  return Math.max(1, Math.round(EDIT_SHARE[rating] * words));
}

/** Whole sentences from the start of `story`, stopping once at least `minWords` words are taken. */
export function excerpt(story: string, minWords: number): string {
  const sentences = story.replace(/\s+/g, ' ').trim().split(/(?<=[.!?]["”]?)\s+/);
  const taken: string[] = [];
  let words = 0;
  for (const s of sentences) {
    taken.push(s);
    words += s.split(' ').length;
    if (words >= minWords) break;
  }
  return taken.join(' ');
}

/** Uniform integer in [0, n). */
export function randomIndex(rng: XorShiftRng, n: number): number {
  return rng.nextU32() % n;
}

/**
 * `text` with `edits` random word edits. `pool` supplies replacement words (words of other
 * stories, so a replacement is a real word that does not belong here).
 */
export function corrupt(text: string, edits: number, pool: readonly string[], rng: XorShiftRng): string {
  const words = text.split(' ');
  for (let e = 0; e < edits; e++) {
    const i = randomIndex(rng, words.length);
    const kind = KINDS[randomIndex(rng, KINDS.length)];
    // A swap with an equal word or a replacement by the same word would change nothing: those
    // edits become repeats, so every edit counts.
    const other = kind === 'swap' ? randomIndex(rng, words.length) : randomIndex(rng, pool.length);
    const partner = kind === 'swap' ? words[other] : pool[other];
    if (kind === 'repeat' || partner === words[i]) words.splice(i, 0, words[i]);
    else if (kind === 'swap') [words[i], words[other]] = [words[other], words[i]];
    else words[i] = partner;
  }
  return words.join(' ');
}
