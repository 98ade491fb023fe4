/**
 * Query heads above, key/value heads below, a line from each query head to the kv head it reads
 * (config.ts's kvHeadOf), coloured by group. Drawn from the shape alone, so it works for the
 * loaded model, every preset and every variant of them.
 */
import type { LlamaConfig } from '../../../src/engine/config.ts';
import { queryGroups } from '../../../src/engine/kv-groups.ts';
import { groupSummary } from './diagram-text.ts';

const W = 640;
const H = 112;
const TOP = 4;
const BOTTOM = 90;
const BOX_H = 18;
const PAD = 4;

const colour = (j: number) => `var(--chart-${(j % 8) + 1})`;

export function HeadDiagram({ config, testId }: { config: LlamaConfig; testId?: string }) {
  const groups = queryGroups(config);
  const n = config.nHeads;
  const slot = (W - 2 * PAD) / n;
  const qWidth = Math.max(1, slot * 0.8);
  const qx = (h: number) => PAD + h * slot + (slot - qWidth) / 2;
  const span = (W - 2 * PAD) / groups.length;
  const kvWidth = Math.max(2, Math.min(span * 0.8, 60));
  const kvx = (j: number) => PAD + j * span + (span - kvWidth) / 2;
  const labelHeads = n <= 16;
  const labelKv = groups.length <= 16;
  return (
    <figure class="attn-diagram" data-testid={testId} data-query-heads={n} data-kv-heads={groups.length}>
      <p class="attn-diagram-label" aria-hidden="true">
        {n} query head{n === 1 ? '' : 's'}
      </p>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={groupSummary(config)} preserveAspectRatio="xMidYMid meet">
        {groups.map((members, j) =>
          members.map((h) => (
            <line
              key={`l${h}`}
              x1={qx(h) + qWidth / 2}
              y1={TOP + BOX_H}
              x2={kvx(j) + kvWidth / 2}
              y2={BOTTOM}
              style={{ stroke: colour(j) }}
              stroke-width={n > 32 ? 0.8 : 1.5}
            />
          )),
        )}
        {groups.map((members, j) =>
          members.map((h) => (
            <g key={`q${h}`}>
              <rect x={qx(h)} y={TOP} width={qWidth} height={BOX_H} rx={1.5} style={{ fill: colour(j) }} />
              {labelHeads && (
                <text x={qx(h) + qWidth / 2} y={TOP + BOX_H / 2 + 4} class="attn-diagram-index">
                  {h}
                </text>
              )}
            </g>
          )),
        )}
        {groups.map((_, j) => (
          <g key={`k${j}`}>
            <rect x={kvx(j)} y={BOTTOM} width={kvWidth} height={BOX_H} rx={1.5} style={{ fill: colour(j) }} />
            {labelKv && (
              <text x={kvx(j) + kvWidth / 2} y={BOTTOM + BOX_H / 2 + 4} class="attn-diagram-index">
                {j}
              </text>
            )}
          </g>
        ))}
      </svg>
      <p class="attn-diagram-label" aria-hidden="true">
        {groups.length} key/value head{groups.length === 1 ? '' : 's'}
      </p>
      <figcaption data-testid={testId ? `${testId}-caption` : undefined}>{groupSummary(config)}</figcaption>
    </figure>
  );
}
