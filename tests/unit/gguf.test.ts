// GGUF (issue 6, part 2): our checkpoints written as GGUF and read back through the streaming
// reader, against the llama2.c files they came from; quantized blocks, half precision, and every
// refusal. Files are built in memory from ../shared and the embedded model, never committed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointTensors } from '../../src/engine/checkpoint/checkpoint.ts';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import { EngineError, type EngineErrorCode } from '../../src/engine/errors.ts';
import { checkpointFromGguf, readGgufModel, type GgufModel } from '../../src/engine/gguf/read-gguf.ts';
import type { GgufSource } from '../../src/engine/gguf/byte-reader.ts';
import { writeGguf, type GgufWeightType } from '../../src/engine/gguf/write-gguf.ts';
import type { LoadProgress } from '../../src/engine/io/byte-source.ts';
import { Llama } from '../../src/engine/llama.ts';
import { quantize, type QuantizedMatrix } from '../../src/engine/quant/blocks.ts';
import { roundToFloat16 } from '../../src/engine/quant/float16.ts';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import type { HostTensor } from '../../src/engine/weights/host-tensor.ts';
import { onBackend } from '../support/engine.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';

const ROOT = join(import.meta.dirname, '../..');
const MODELS = [
  { label: 'stories260K', model: sharedBytes(STORIES260K), tokenizer: sharedBytes(TOK512) },
  {
    label: 'the embedded model',
    model: new Uint8Array(readFileSync(join(ROOT, 'public/models/default/model.bin'))),
    tokenizer: new Uint8Array(readFileSync(join(ROOT, 'public/models/default/tokenizer.bin'))),
  },
].map((m) => ({ ...m, ck: parseLlama2c(m.model, `${m.label}.bin`), tok: Tokenizer.fromBytes(m.tokenizer, `${m.label} tokenizer`) }));
const TEXTS = ['Once upon a time, there was a little girl named Lily.', 'Tom said: "Wow!" 3 × 4 = 12 — ünïcödé 🙂\n\tend', ''];

const read = (source: GgufSource, name = 'model.gguf', onProgress?: (p: LoadProgress) => void) => readGgufModel(source, { name, onProgress });
async function collect(model: GgufModel): Promise<HostTensor[]> {
  const out: HostTensor[] = [];
  for await (const t of model.tensors) out.push(t);
  return out;
}
/** Bit-for-bit equality of typed arrays (and fast: toEqual walks a million floats slowly). */
const sameBits = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
/** A tensor as comparable text: name, shape and its bytes (base64). */
const fingerprint = (t: HostTensor) => {
  const parts = t.value instanceof Float32Array ? [t.value] : [t.value.scales, t.value.words];
  return [t.name, t.shape.join('x'), ...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64'))].join(' ');
};

/** Chunks of 1, 7, 13, 1001 bytes in turn: tensors and header fields straddle every boundary. */
function oddChunks(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const sizes = [1, 7, 13, 1001];
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const n = sizes[i++ % sizes.length];
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

async function expectFault(promise: Promise<unknown>, code: EngineErrorCode, ...fragments: string[]) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  expect((err as EngineError).code).toBe(code);
  expect((err as EngineError).message.split('\n')).toHaveLength(1);
  for (const f of fragments) expect((err as EngineError).message).toContain(f);
}

/** Byte offset just after the first occurrence of `text` in the file's header. */
function after(bytes: Uint8Array, text: string): number {
  const at = Buffer.from(bytes).indexOf(text);
  expect(at).toBeGreaterThan(0);
  return at + text.length;
}

describe('GGUF round trip of llama2.c checkpoints (F32)', () => {
  beforeAll(() => onBackend('cpu'));

  for (const m of MODELS) {
    it(`${m.label}: every tensor bit-identical, the same config, tokenizer and logits`, async () => {
      const gguf = writeGguf(m.ck, m.tok, { type: 'f32' });
      const model = await read(gguf);
      // GGUF stores the norm epsilon as float32; the forward pass computes in float32 either way.
      expect(model.config).toEqual({ ...m.ck.config, normEps: Math.fround(m.ck.config.normEps) });
      expect(model.entries.every((e) => e.type === 'F32')).toBe(true);
      const ck = await checkpointFromGguf(model);
      const original = checkpointTensors(m.ck);
      const loaded = checkpointTensors(ck);
      expect(loaded.map((t) => t.name)).toEqual(original.map((t) => t.name));
      original.forEach((t, i) => expect(sameBits(loaded[i].data, t.data), t.name).toBe(true));

      const tok = model.tokenizer;
      expect(tok.vocabSize).toBe(m.tok.vocabSize);
      expect(tok.maxTokenLength).toBe(m.tok.maxTokenLength);
      for (let id = 0; id < tok.vocabSize; id++) {
        expect(tok.piece(id)).toEqual(m.tok.piece(id));
        expect(tok.score(id)).toBe(m.tok.score(id));
      }
      for (const text of TEXTS) expect(tok.encode(text)).toEqual(m.tok.encode(text));

      const fromBin = Llama.fromCheckpoint(m.ck, m.tok, { model: 'bin', tokenizer: 'bin' });
      const fromGguf = Llama.fromCheckpoint(ck, tok, { model: 'gguf', tokenizer: 'gguf' });
      try {
        const prompt = m.tok.encode(TEXTS[0]);
        const logits = (l: Llama) => tf.tidy(() => l.model.forward(prompt, 0, l.newCache()).dataSync() as Float32Array);
        // The same float32 weights through the same kernels: the logits are identical, not close.
        expect(sameBits(logits(fromGguf), logits(fromBin))).toBe(true);
      } finally {
        fromBin.dispose();
        fromGguf.dispose();
      }
    });
  }
});

describe('GGUF tensor types', () => {
  const { ck, tok } = MODELS[1];

  for (const format of ['q8_0', 'q4_0'] as const) {
    it(`${format}: the blocks read back are exactly what quantize() produced`, async () => {
      const tensors = await collect(await read(writeGguf(ck, tok, { type: format })));
      const byName = new Map(checkpointTensors(ck).map((t) => [t.name, t]));
      let quantized = 0;
      for (const t of tensors) {
        const src = byName.get(t.name)!;
        expect(t.shape).toEqual(src.shape);
        if (t.value instanceof Float32Array) {
          // Vectors, and w2 whose 344 columns are not whole 32-blocks, stay float32.
          expect(src.shape.length === 1 || src.shape[1] % 32 !== 0, t.name).toBe(true);
          expect(sameBits(t.value, src.data), t.name).toBe(true);
          continue;
        }
        const expected: QuantizedMatrix = quantize(format, src.data, src.shape[0], src.shape[1]);
        expect(t.value.format).toBe(format);
        expect([t.value.rows, t.value.cols]).toEqual([expected.rows, expected.cols]);
        expect(sameBits(t.value.words, expected.words), t.name).toBe(true);
        expect(sameBits(t.value.scales, expected.scales), t.name).toBe(true);
        quantized++;
      }
      expect(quantized).toBe(1 + 5 * 6); // token embedding, and wq wk wv wo w1 w3 of 5 layers
    });
  }

  it('F16: matrices read back as their nearest half-precision values, vectors stay F32', async () => {
    const model = await read(writeGguf(ck, tok, { type: 'f16' }));
    expect(new Set(model.entries.map((e) => `${e.shape.length}:${e.type}`))).toEqual(new Set(['1:F32', '2:F16']));
    const byName = new Map(checkpointTensors(ck).map((t) => [t.name, t]));
    for (const t of await collect(model)) {
      const src = byName.get(t.name)!.data;
      expect(t.value).toBeInstanceOf(Float32Array);
      expect(sameBits(t.value as Float32Array, t.shape.length === 1 ? src : src.map(roundToFloat16)), t.name).toBe(true);
    }
  });

  it('reports each tensor’s bytes in the file and on the device', async () => {
    const types: GgufWeightType[] = ['f32', 'q8_0', 'q4_0'];
    const [f32, q8, q4] = await Promise.all(types.map(async (type) => read(writeGguf(ck, tok, { type }))));
    const embedding = (m: GgufModel) => m.entries.find((e) => e.name === 'token_embedding')!;
    const n = ck.config.vocabSize * ck.config.dim;
    expect(embedding(f32)).toMatchObject({ type: 'F32', elements: n, fileBytes: 4 * n, deviceBytes: 4 * n });
    // Per 32 weights: Q8_0 34 bytes in the file, 32 quant bytes + a float32 scale on the device.
    expect(embedding(q8)).toMatchObject({ type: 'Q8_0', fileBytes: (n / 32) * 34, deviceBytes: (n / 32) * 36 });
    expect(embedding(q4)).toMatchObject({ type: 'Q4_0', fileBytes: (n / 32) * 18, deviceBytes: (n / 32) * 20 });
    expect(q4.deviceBytes).toBe(q4.entries.reduce((s, e) => s + e.deviceBytes, 0));
  });
});

describe('GGUF streaming', () => {
  const { ck, tok } = MODELS[0];
  const gguf = writeGguf(ck, tok, { type: 'q8_0' });

  it('a stream of small odd-sized chunks and a Blob give the same tensors as the whole buffer, with progress', async () => {
    const whole = (await collect(await read(gguf))).map(fingerprint);
    const progress: LoadProgress[] = [];
    const streamed = (await collect(await read(oddChunks(gguf), 'stream.gguf', (p) => progress.push(p)))).map(fingerprint);
    const sliced = (await collect(await read(new Blob([gguf.slice()])))).map(fingerprint);
    expect(whole).toHaveLength(checkpointTensors(ck).length);
    expect(streamed).toEqual(whole);
    expect(sliced).toEqual(whole);
    const loaded = progress.map((p) => p.loadedBytes);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(loaded.at(-1)).toBe(gguf.length);
  });
});

describe('GGUF refusals', () => {
  const { ck, tok } = MODELS[0];
  const gguf = writeGguf(ck, tok, { type: 'q8_0' });

  it('a file that is not GGUF', async () => {
    await expectFault(read(MODELS[0].model, 'stories260K.bin'), 'gguf-format', 'stories260K.bin', 'not a GGUF file', 'GGUF');
  });

  it('a file truncated mid-tensor: before reading tensors when the size is known, while streaming otherwise', async () => {
    const cut = gguf.subarray(0, gguf.length - 1000);
    await expectFault(read(cut, 'cut.gguf'), 'gguf-format', 'cut.gguf', 'truncated', `got ${cut.length}`);
    const streamed = await read(oddChunks(cut), 'cut.gguf');
    await expectFault(collect(streamed), 'gguf-format', 'cut.gguf', 'truncated', 'tensor', `ends at byte ${cut.length}`);
  });

  it('a file truncated inside the header', async () => {
    await expectFault(read(gguf.subarray(0, 3000), 'short.gguf'), 'gguf-format', 'short.gguf', 'truncated inside the header');
  });

  it('a tensor type other than F32, F16, Q8_0, Q4_0 and Q6_K, by name', async () => {
    const patched = gguf.slice();
    // After the name: n_dims (u32), two u64 dims, then the type.
    new DataView(patched.buffer).setUint32(after(patched, 'blk.2.attn_q.weight') + 4 + 16, 12, true);
    await expectFault(read(patched, 'k.gguf'), 'gguf-unsupported', 'k.gguf', 'blk.2.attn_q.weight', 'Q4_K');
  });

  it('an architecture other than llama, by name', async () => {
    const patched = gguf.slice();
    // The value (u64 length, then "llama") follows the key and its u32 type.
    patched.set(new TextEncoder().encode('qwen2'), after(patched, 'general.architecture') + 4 + 8);
    await expectFault(read(patched, 'q.gguf'), 'gguf-unsupported', 'q.gguf', '"qwen2"', 'Llama');
  });

  it('tensor shapes that do not match the metadata', async () => {
    const patched = gguf.slice();
    new DataView(patched.buffer).setUint32(after(patched, 'llama.feed_forward_length') + 4, 176, true);
    await expectFault(read(patched, 'ffn.gguf'), 'gguf-format', 'ffn.gguf', 'blk.0.ffn_gate.weight', '[176,64]', '[172,64]');
  });
});

