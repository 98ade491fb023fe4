/**
 * One dial per pair of the head: the pair's query (rotated to m + s) and key (rotated to n + s)
 * as arrows in the plane. Each dial is scaled to its own longer arrow, so slow, small pairs are
 * as visible as the fast ones; the labels give the pair's frequency and how far it turns within
 * the trained context.
 */
import type { Dial } from './view.ts';
import { formatAngle, formatQuantity } from './view.ts';

interface Props {
  dials: Dial[];
  totalPairs: number;
  qPosition: number;
  kPosition: number;
}

function arrow(p: { x: number; y: number }, scale: number): { x: number; y: number } {
  // SVG's y axis points down; the plane's points up.
  return { x: p.x / scale, y: -p.y / scale };
}

export function PairDials({ dials, totalPairs, qPosition, kPosition }: Props) {
  return (
    <div class="rope-dials" data-testid="rope-dials">
      {dials.map((d) => {
        const scale = Math.max(Math.hypot(d.q.x, d.q.y), Math.hypot(d.k.x, d.k.y)) || 1;
        const q = arrow(d.q, scale);
        const k = arrow(d.k, scale);
        const j = d.facts.pair;
        const label =
          `Pair ${j}: query at position ${qPosition} turned ${formatAngle(d.qAngle)}, ` +
          `key at position ${kPosition} turned ${formatAngle(d.kAngle)}`;
        return (
          <figure class="rope-dial" key={j} data-testid="rope-dial" data-pair={String(j)} data-q-angle={String(d.qAngle)} data-k-angle={String(d.kAngle)}>
            <svg viewBox="-1.25 -1.25 2.5 2.5" role="img" aria-label={label}>
              <circle class="rope-dial-circle" cx="0" cy="0" r="1" />
              <line class="rope-dial-axis" x1="-1" y1="0" x2="1" y2="0" />
              <line class="rope-dial-q" x1="0" y1="0" x2={q.x} y2={q.y} />
              <circle class="rope-dial-q-tip" cx={q.x} cy={q.y} r="0.09" />
              <line class="rope-dial-k" x1="0" y1="0" x2={k.x} y2={k.y} />
              <rect class="rope-dial-k-tip" x={k.x - 0.08} y={k.y - 0.08} width="0.16" height="0.16" />
            </svg>
            <figcaption>
              <strong>pair {j}</strong>
              <span>θ = {formatQuantity(d.facts.frequency)} rad/pos</span>
              <span>
                {d.facts.turnsInContext >= 1
                  ? `${formatQuantity(d.facts.turnsInContext)} turns in context`
                  : `${formatQuantity(d.facts.turnsInContext * 360)}° in context`}
              </span>
            </figcaption>
          </figure>
        );
      })}
      {totalPairs > dials.length && (
        <p class="rope-note">
          {dials.length} of the head's {totalPairs} pairs, evenly spaced from the fastest to the slowest.
        </p>
      )}
    </div>
  );
}
