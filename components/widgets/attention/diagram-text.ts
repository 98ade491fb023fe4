import { attentionKind, type LlamaConfig } from '../../../src/engine/config.ts';
import { queryGroups } from '../../../src/engine/kv-groups.ts';

const range = (hs: number[]) => (hs.length === 1 ? `${hs[0]}` : `${hs[0]}–${hs[hs.length - 1]}`);

/**
 * The diagram in words (its caption and the image's label): which query heads share which
 * key/value head, the first two groups and the last spelled out.
 */
export function groupSummary(c: LlamaConfig): string {
  const groups = queryGroups(c);
  const kind = attentionKind(c);
  if (kind === 'MHA') return `MHA: each of the ${c.nHeads} query heads has its own key/value head.`;
  if (kind === 'MQA') return `MQA: all ${c.nHeads} query heads share one key/value head.`;
  const size = groups[0].length;
  const shown = groups.length <= 3 ? groups.map((g, j) => `${range(g)} read head ${j}`) : [
    `${range(groups[0])} read head 0`,
    `${range(groups[1])} head 1`,
    '…',
    `${range(groups[groups.length - 1])} head ${groups.length - 1}`,
  ];
  return `GQA: ${c.nHeads} query heads in ${groups.length} groups of ${size}; query heads ${shown.join(', ')}.`;
}
