/**
 * Preference pairs from stories: the real story (an excerpt of whole sentences) is the chosen
 * response, a corrupted copy the rejected one, one pair per rating per story. Which stories train
 * the reward model and which test it is fixed, so accuracies are always on unseen stories.
 */
import { XorShiftRng } from '../../engine/sampling/rng.ts';
import { corrupt, editCount, excerpt } from './corrupt.ts';
import { RATINGS, type Rating } from './ratings.ts';

export interface PairOptions {
  /** Stories used, 1-based and inclusive, in the order of the file (the brief: 41..240). */
  first: number;
  last: number;
  /** Stories from this one (1-based) on are held out for evaluation. */
  firstHeldOut: number;
  /** An excerpt is whole sentences totalling at least this many words. */
  minWords: number;
  seed: number;
}

export const DEFAULT_PAIR_OPTIONS: PairOptions = { first: 41, last: 240, firstHeldOut: 201, minWords: 40, seed: 5 };

export interface PreferencePair {
  /** 1-based story number in the file. */
  story: number;
  rating: Rating;
  /** Words edited in the rejected text. */
  edits: number;
  heldOut: boolean;
  /** Index into PairSet.texts of the chosen and the rejected text. */
  chosen: number;
  rejected: number;
}

export interface PairSet {
  /** Every distinct text to score: each story's excerpt, then its corrupted copies. */
  texts: string[];
  pairs: PreferencePair[];
}

export function buildPairs(stories: readonly string[], opts: PairOptions = DEFAULT_PAIR_OPTIONS): PairSet {
  const { first, last, firstHeldOut, minWords } = opts;
  if (!(Number.isInteger(first) && Number.isInteger(last) && first >= 1 && last >= first))
    throw new RangeError(`stories ${first}..${last}: expected 1 ≤ first ≤ last`);
  if (stories.length < last) throw new RangeError(`stories ${first}..${last} were asked for, but the text has only ${stories.length}`);
  if (!(firstHeldOut > first && firstHeldOut <= last)) throw new RangeError(`the held-out stories (${firstHeldOut}..${last}) must leave some to train on`);
  const used = stories.slice(first - 1, last).map((s) => excerpt(s, minWords));
  // Replacement words come from the whole set: a story rarely draws its own words.
  const pool = used.flatMap((t) => t.split(' '));
  const rng = new XorShiftRng(BigInt(opts.seed) * 2654435761n + 1n);
  const texts: string[] = [];
  const pairs: PreferencePair[] = [];
  used.forEach((text, k) => {
    const story = first + k;
    const chosen = texts.push(text) - 1;
    const words = text.split(' ').length;
    for (const rating of RATINGS) {
      const edits = editCount(rating, words);
      const rejected = texts.push(corrupt(text, edits, pool, rng)) - 1;
      pairs.push({ story, rating, edits, heldOut: story >= firstHeldOut, chosen, rejected });
    }
  });
  return { texts, pairs };
}
