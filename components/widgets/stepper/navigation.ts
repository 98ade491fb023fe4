/**
 * Moving through a forward trace: one operation at a time, or to the same operation in the
 * neighbouring layer. Works on the trace's step list, in the order the engine computed it.
 */
import type { StepName } from './steps.ts';

export interface StepRef {
  step: StepName;
  layer: number | null;
}

export const clampIndex = (i: number, count: number): number => Math.max(0, Math.min(count - 1, i));

export const nextStep = (i: number, count: number): number => clampIndex(i + 1, count);
export const prevStep = (i: number, count: number): number => clampIndex(i - 1, count);

const find = (steps: readonly StepRef[], step: StepName, layer: number | null) =>
  steps.findIndex((s) => s.step === step && s.layer === layer);
const firstAfterBlocks = (steps: readonly StepRef[]) => steps.findIndex((s, i) => s.layer === null && i > 0);
const firstOfLayer = (steps: readonly StepRef[], layer: number) => steps.findIndex((s) => s.layer === layer);

/**
 * The same operation one layer down; past the last layer, the first step after the blocks (the
 * final norm); from the embedding, the first operation of layer 0. Stays put at the end.
 */
export function nextLayer(steps: readonly StepRef[], i: number): number {
  const cur = steps[i];
  if (!cur) return i;
  if (cur.layer === null) {
    if (i !== 0) return i; // already past the blocks
    const first = firstOfLayer(steps, 0);
    return first < 0 ? i : first;
  }
  const same = find(steps, cur.step, cur.layer + 1);
  if (same >= 0) return same;
  const after = firstAfterBlocks(steps);
  return after < 0 ? i : after;
}

/**
 * The same operation one layer up; from layer 0, the embedding; from the steps after the blocks,
 * the first operation of the last layer. Stays put at the embedding.
 */
export function prevLayer(steps: readonly StepRef[], i: number): number {
  const cur = steps[i];
  if (!cur) return i;
  if (cur.layer === null) {
    if (i === 0) return i;
    const last = steps.reduce((m, s) => (s.layer !== null && s.layer > m ? s.layer : m), -1);
    return last < 0 ? 0 : firstOfLayer(steps, last);
  }
  if (cur.layer === 0) return 0;
  const same = find(steps, cur.step, cur.layer - 1);
  return same < 0 ? i : same;
}

export type NavAction = 'next' | 'prev' | 'next-layer' | 'prev-layer' | 'first' | 'last';

/** The keyboard shortcuts, as the help line lists them. */
export const KEY_ACTIONS: Readonly<Record<string, NavAction>> = {
  ArrowRight: 'next',
  j: 'next',
  ArrowLeft: 'prev',
  k: 'prev',
  ']': 'next-layer',
  '[': 'prev-layer',
  Home: 'first',
  End: 'last',
};

export function navigate(steps: readonly StepRef[], i: number, action: NavAction): number {
  switch (action) {
    case 'next':
      return nextStep(i, steps.length);
    case 'prev':
      return prevStep(i, steps.length);
    case 'next-layer':
      return nextLayer(steps, i);
    case 'prev-layer':
      return prevLayer(steps, i);
    case 'first':
      return 0;
    case 'last':
      return Math.max(0, steps.length - 1);
  }
}

/**
 * Where to land in a new trace (another prompt or position) so the reader keeps their place:
 * the same step and layer if it still exists, else the same index, clamped.
 */
export function carryOver(previous: StepRef | undefined, index: number, steps: readonly StepRef[]): number {
  if (previous) {
    const same = find(steps, previous.step, previous.layer);
    if (same >= 0) return same;
  }
  return clampIndex(index, steps.length);
}
