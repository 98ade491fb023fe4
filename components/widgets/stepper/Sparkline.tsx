/** The residual stream's norm after the embedding and after each sub-block, with "now" marked. */
import type { ResidualPoint } from './residual.ts';
import { formatValue } from './values.ts';

const W = 240;
const H = 48;
const PAD = 4;

export function Sparkline({ points, current }: { points: readonly ResidualPoint[]; current: number }) {
  if (points.length === 0) return null;
  const max = Math.max(...points.map((p) => p.norm)) || 1;
  const x = (i: number) => PAD + (points.length === 1 ? 0 : (i * (W - 2 * PAD)) / (points.length - 1));
  const y = (v: number) => H - PAD - (v / max) * (H - 2 * PAD);
  const now = points[current];
  const summary = `Residual norm from ${formatValue(points[0].norm)} (${points[0].label}) to ${formatValue(points[points.length - 1].norm)} (${points[points.length - 1].label}); now ${formatValue(now.norm)} (${now.label}).`;
  return (
    <svg class="stepper-sparkline" data-testid="stepper-sparkline" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
      <title>{summary}</title>
      <polyline
        fill="none"
        stroke="currentColor"
        stroke-width="1.5"
        points={points.map((p, i) => `${x(i).toFixed(1)},${y(p.norm).toFixed(1)}`).join(' ')}
      />
      {points.map((p, i) => (
        <circle key={p.index} cx={x(i)} cy={y(p.norm)} r={i === current ? 4 : 1.8} class={i === current ? 'now' : undefined}>
          <title>{`${p.label}: ${formatValue(p.norm)}`}</title>
        </circle>
      ))}
    </svg>
  );
}
