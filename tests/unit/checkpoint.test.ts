import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import { EngineError, type EngineErrorCode } from '../../src/engine/errors.ts';
import { Llama } from '../../src/engine/llama.ts';
import { sharedBytes, STORIES260K, STORIES260K_Q80, TOK512 } from '../support/shared.ts';

const v0 = sharedBytes(STORIES260K);
const v2 = sharedBytes(STORIES260K_Q80);

function expectFault(fn: () => unknown, code: EngineErrorCode, ...fragments: string[]) {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(EngineError);
  const err = caught as EngineError;
  expect(err.code).toBe(code);
  expect(err.message.split('\n')).toHaveLength(1);
  for (const f of fragments) expect(err.message).toContain(f);
}

const withInt32 = (bytes: Uint8Array, offset: number, value: number) => {
  const copy = bytes.slice();
  new DataView(copy.buffer).setInt32(offset, value, true);
  return copy;
};

describe('llama2.c checkpoints', () => {
  it('reads the version-0 header and layout', () => {
    const ck = parseLlama2c(v0, 'stories260K.bin');
    expect(ck.format).toBe('llama2c-v0');
    expect(ck.config).toMatchObject({ dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512, sharedClassifier: true });
    expect(ck.classifier).toBeNull();
  });

  it('dequantizes the version-2 int8 export to the float weights within one quantization step', () => {
    const f = parseLlama2c(v0, 'stories260K.bin');
    const q = parseLlama2c(v2, 'stories260K_q80.bin');
    expect(q.format).toBe('llama2c-v2-int8');
    expect(q.config).toEqual(f.config);
    // Norm weights are stored as float32 in both files.
    expect(q.layers[3].rmsFfn).toEqual(f.layers[3].rmsFfn);
    // Q8_0 rounds to the nearest of 255 levels per group of 32: error ≤ max|w| / 127 / 2 per group.
    const maxErr = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    expect(maxErr(q.tokenEmbedding, f.tokenEmbedding)).toBeLessThan(0.005);
    expect(maxErr(q.layers[2].w2, f.layers[2].w2)).toBeLessThan(0.005);
    expect(maxErr(q.layers[2].w2, f.layers[2].w2)).toBeGreaterThan(0); // really quantized
  });

  it('rejects a truncated file with expected and actual sizes', () => {
    expectFault(() => parseLlama2c(v0.subarray(0, v0.length - 4), 'cut.bin'), 'checkpoint-truncated', 'cut.bin', `expected ${v0.length}`, `got ${v0.length - 4}`);
    expectFault(() => parseLlama2c(v0.subarray(0, 10), 'tiny.bin'), 'checkpoint-truncated', 'tiny.bin');
    expectFault(() => parseLlama2c(v2.subarray(0, 200), 'q.bin'), 'checkpoint-truncated', 'q.bin', 'expected 256');
  });

  it('rejects trailing bytes', () => {
    const padded = new Uint8Array(v0.length + 8);
    padded.set(v0);
    expectFault(() => parseLlama2c(padded, 'padded.bin'), 'checkpoint-padded', 'padded.bin', `expected ${v0.length}`, `got ${v0.length + 8}`);
  });

  it('rejects a wrong magic and a wrong version', () => {
    expectFault(() => parseLlama2c(withInt32(v2, 0, 0x616b3433), 'magic.bin'), 'checkpoint-magic', 'magic.bin', 'ak42');
    expectFault(() => parseLlama2c(new TextEncoder().encode('GGUF'.padEnd(64, '\0')), 'model.gguf'), 'checkpoint-magic', 'GGUF');
    expectFault(() => parseLlama2c(withInt32(v2, 4, 3), 'v3.bin'), 'checkpoint-version', 'v3.bin', 'got 3');
  });

  it('rejects impossible dimensions', () => {
    expectFault(() => parseLlama2c(withInt32(v0, 12, 7), 'heads.bin'), 'checkpoint-dims', 'heads.bin', '64 / 7'); // dim % heads
    expectFault(() => parseLlama2c(withInt32(v0, 16, 3), 'kv.bin'), 'checkpoint-dims', 'kv.bin', '8 / 3'); // heads % kv heads
    expectFault(() => parseLlama2c(withInt32(v0, 12, 64), 'odd.bin'), 'checkpoint-dims', 'odd.bin', 'even'); // head size 1
  });

  it('rejects a tokenizer whose vocabulary does not match the model', () => {
    const bigTok = sharedBytes('models/llama2-tokenizer/tokenizer.bin');
    expectFault(() => Llama.fromBytes(v0, 'stories260K.bin', bigTok, 'tokenizer.bin'), 'tokenizer-mismatch', 'tokenizer.bin', 'expected 512', 'got 32000');
  });

  it('rejects a tokenizer passed as the model, and a model passed as the tokenizer', () => {
    expectFault(() => parseLlama2c(sharedBytes(TOK512), 'tok512.bin'), 'checkpoint-magic', 'tok512.bin');
    expectFault(() => Llama.fromBytes(v0, 'm.bin', v0, 'stories260K.bin'), 'tokenizer-format', 'stories260K.bin');
  });
});

describe('loading from a stream', () => {
  it('reports progress per chunk and parses the same checkpoint', async () => {
    const { loadLlama2c } = await import('../../src/engine/checkpoint/llama2c.ts');
    const chunk = 64 * 1024;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < v0.length; at += chunk) controller.enqueue(v0.slice(at, at + chunk));
        controller.close();
      },
    });
    const seen: number[] = [];
    const ck = await loadLlama2c(stream, { name: 'stories260K.bin', totalBytes: v0.length, onProgress: (p) => seen.push(p.loadedBytes) });
    expect(seen).toHaveLength(Math.ceil(v0.length / chunk));
    expect(seen.at(-1)).toBe(v0.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(ck.layers[4].w3).toEqual(parseLlama2c(v0, 'x').layers[4].w3);
  });
});
