/**
 * The residual stream through the forward pass: its norm after the embedding and after each
 * sub-block adds to it, and which of those points is "now" for any step of the trace.
 */
import { l2Norm } from './values.ts';
import type { StepName } from './steps.ts';

export interface ResidualPoint {
  /** Index of the trace step that holds this residual. */
  index: number;
  label: string;
  norm: number;
}

/** The steps whose tensor *is* the residual stream after something was added to it. */
const RESIDUAL_STEPS: ReadonlySet<StepName> = new Set(['embedding', 'residual_attention', 'residual_ffn']);

export function residualSeries(steps: readonly { step: StepName; layer: number | null; values: ArrayLike<number> }[]): ResidualPoint[] {
  const points: ResidualPoint[] = [];
  steps.forEach((s, index) => {
    if (!RESIDUAL_STEPS.has(s.step)) return;
    const label =
      s.step === 'embedding'
        ? 'embedding'
        : `layer ${(s.layer ?? 0) + 1} after ${s.step === 'residual_attention' ? 'attention' : 'feed-forward'}`;
    points.push({ index, label, norm: l2Norm(s.values) });
  });
  return points;
}

/**
 * The residual point current at trace step `index`: the last one computed at or before it (a
 * block's steps before its first residual add see the stream as it entered the block).
 */
export function residualAt(points: readonly ResidualPoint[], index: number): number {
  let at = 0;
  for (let i = 0; i < points.length; i++) if (points[i].index <= index) at = i;
  return at;
}
