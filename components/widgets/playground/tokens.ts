import { BOS_ID, EOS_ID } from '../../../src/engine/tokenizer/special-ids.ts';

/**
 * How the playground shows a token's probability: four bands with words, so the colour is never
 * the only carrier of the information (the details box and aria text say the number too).
 */
export interface Band {
  id: 'likely' | 'plausible' | 'unlikely' | 'surprising';
  label: string;
  /** Lower bound of the band's probability. */
  min: number;
}

export const BANDS: readonly Band[] = [
  { id: 'likely', label: '50% or more', min: 0.5 },
  { id: 'plausible', label: '10–50%', min: 0.1 },
  { id: 'unlikely', label: '1–10%', min: 0.01 },
  { id: 'surprising', label: 'under 1%', min: 0 },
];

export function bandOf(logprob: number): Band {
  const p = Math.exp(logprob);
  return BANDS.find((b) => p >= b.min) ?? BANDS[BANDS.length - 1];
}

/** What a token span shows: its text, with invisible text made visible and BOS/EOS named. */
export function visibleText(text: string, id: number): string {
  if (id === BOS_ID) return '<s>';
  if (id === EOS_ID) return '</s>';
  if (text === '') return '▯'; // part of a character whose other bytes come in later tokens
  return text;
}

/** A piece as a person can read it: spaces stay, a newline shows as ↵. */
export const readablePiece = (piece: string): string => JSON.stringify(piece.replace(/\n/g, '↵')).slice(1, -1);
