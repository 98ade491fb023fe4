import { checkpointTensors } from '../../engine/checkpoint/checkpoint.ts';
import { parseLlama2c } from '../../engine/checkpoint/llama2c.ts';
import { attentionKind, headSize } from '../../engine/config.ts';
import { readAllBytes } from '../../engine/io/byte-source.ts';
import { kvCacheBytesPerToken, parameterBreakdown } from '../../engine/params.ts';
import { openFile } from '../../node/load-files.ts';
import { parseOptions, requireOption } from '../args.ts';
import { formatBytes, formatTable, withCommas } from '../table.ts';


/** Config, parameter count and memory by tensor of a checkpoint, as loaded (float32 on the device). */
export async function inspectCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, { model: { type: 'string' }, json: { type: 'boolean', default: false } });
  const file = await openFile(requireOption(o.model, 'model'), 'model');
  const ck = parseLlama2c(await readAllBytes(file.stream, { name: file.name }), file.name);
  const c = ck.config;
  const params = parameterBreakdown(c);
  const tensors = checkpointTensors(ck).map((t) => ({ name: t.name, shape: t.shape, parameters: t.data.length, bytes: t.data.byteLength }));
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ file: file.name, fileBytes: file.size, format: ck.format, config: c, parameters: params, tensors })}\n`);
    return;
  }
  const lines = [
    `${file.name}: ${ck.format}, ${formatBytes(file.size)} on disk`,
    `dim ${c.dim}, hidden ${c.hiddenDim}, layers ${c.nLayers}, heads ${c.nHeads} (head size ${headSize(c)}), kv heads ${c.nKvHeads} (${attentionKind(c)}), vocab ${c.vocabSize}, context ${c.seqLen}, classifier ${c.sharedClassifier ? 'shared with embedding' : 'separate'}`,
    `parameters ${withCommas(params.total)} (embedding ${withCommas(params.tokenEmbedding)}, attention ${withCommas(params.attention)}, feed-forward ${withCommas(params.feedForward)}, norms ${withCommas(params.norms)}, classifier ${withCommas(params.classifier)})`,
    `KV cache (float32) ${formatBytes(kvCacheBytesPerToken(c, 4))} per token, ${formatBytes(kvCacheBytesPerToken(c, 4) * c.seqLen)} for the full context`,
    '',
    formatTable(
      ['tensor', 'shape', 'parameters', 'float32'],
      tensors.map((t) => [t.name, t.shape.join('×'), withCommas(t.parameters), formatBytes(t.bytes)]),
    ),
    `total float32 weights: ${formatBytes(tensors.reduce((n, t) => n + t.bytes, 0))}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
