import { attentionKind } from '../../engine/config.ts';
import { kvCacheBytesPerToken, parameterCount } from '../../engine/params.ts';
import { PRESETS } from '../../engine/presets.ts';
import { parseOptions } from '../args.ts';
import { formatBytes, formatTable, withCommas } from '../table.ts';


/** The Llama 1 and 2 shapes with exact parameter counts and float16 KV-cache sizes. */
export async function presetsCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, { json: { type: 'boolean', default: false } });
  const rows = PRESETS.map((p) => {
    const perToken = kvCacheBytesPerToken(p.config, 2);
    return { ...p, parameters: parameterCount(p.config), attention: attentionKind(p.config), kvBytesPerToken: perToken, kvBytesFullContext: perToken * p.config.seqLen };
  });
  if (o.json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  const table = formatTable(
    ['model', 'dim', 'layers', 'heads', 'kv heads', 'attention', 'FFN', 'context', 'vocab', 'parameters', 'KV/token (fp16)', 'KV full context'],
    rows.map((r) => [
      r.label,
      r.config.dim,
      r.config.nLayers,
      r.config.nHeads,
      r.config.nKvHeads,
      r.attention,
      r.config.hiddenDim,
      r.config.seqLen,
      r.config.vocabSize,
      withCommas(r.parameters),
      formatBytes(r.kvBytesPerToken),
      formatBytes(r.kvBytesFullContext),
    ]),
  );
  process.stdout.write(`${table}\n`);
}
