import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** ../shared beside the repository: third-party models and data, read in place, never copied. */
export const sharedPath = (rel: string): string => fileURLToPath(new URL(`../../../shared/${rel}`, import.meta.url));
export const sharedBytes = (rel: string): Uint8Array => new Uint8Array(readFileSync(sharedPath(rel)));

export const STORIES260K = 'models/stories260K/stories260K.bin';
export const STORIES260K_Q80 = 'models/stories260K/stories260K_q80.bin';
export const TOK512 = 'models/stories260K/tok512.bin';
export const VALID_STORIES = 'data/tinystories/tinystories_valid_first1000.txt';

export interface ParityCase {
  model: string;
  tokenizer: string;
  temperature: number;
  top_p: number;
  seed: number;
  steps: number;
  prompt: string;
  expected_tokens: number[];
  reference_stdout: string;
}

export const parityCases = (): ParityCase[] =>
  JSON.parse(readFileSync(sharedPath('reference/parity_public.json'), 'utf8')) as ParityCase[];
