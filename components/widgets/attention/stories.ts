/**
 * The validation slice for the conversion explorer, read on the page. The split is
 * src/engine/evaluate.ts's splitStories, repeated here because that module imports TensorFlow.js,
 * which must stay out of the page's bundle (tests/unit/attention-variants.test.ts checks they agree).
 */
import { withBase } from '../../../src/site/paths.ts';

export const VALIDATION_FILE = 'data/tinystories-valid-240.txt';
/** The model card's evaluation set: the first 40 stories of the slice. */
export const DEFAULT_STORIES = 40;
export const MAX_STORIES = 240;
export const SAMPLE_PROMPT = 'Once upon a time';
/** Positions of the greedy sample (prompt included), as generate's `steps`. */
export const SAMPLE_STEPS = 64;

export function splitStoriesText(text: string): string[] {
  return text
    .split('<|endoftext|>')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Uptraining text: the project's teacher-sampled stories, never the validation stories. */
export const TRAINING_FILE = 'data/teacher-stories.txt';

async function fetchStories(file: string, what: string): Promise<string[]> {
  const url = withBase(file);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`the ${what} (${url}) could not be loaded: ${res.status} ${res.statusText}`);
  return splitStoriesText(await res.text());
}

export const fetchValidationStories = async (count: number): Promise<string[]> =>
  (await fetchStories(VALIDATION_FILE, 'validation stories')).slice(0, count);

export const fetchTrainingStories = (): Promise<string[]> => fetchStories(TRAINING_FILE, 'training stories');
