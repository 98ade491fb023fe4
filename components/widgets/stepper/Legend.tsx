/** The colour scale's key: the gradient from −max through 0 to +max, with those three values. */
import { DIVERGING_GRADIENT } from './colour.ts';
import { formatValue } from './values.ts';

export function Legend({ max }: { max: number }) {
  return (
    <div class="stepper-legend" data-testid="stepper-legend" data-max={String(max)}>
      <span class="stepper-legend-bar" style={{ background: DIVERGING_GRADIENT }} aria-hidden="true" />
      <span class="stepper-legend-labels">
        <span>{formatValue(-max)}</span>
        <span>0</span>
        <span>{formatValue(max)}</span>
      </span>
      <span class="visually-hidden">
        Colour scale: blue for negative values down to {formatValue(-max)}, light for zero, red for positive values up to {formatValue(max)}
        .
      </span>
    </div>
  );
}
