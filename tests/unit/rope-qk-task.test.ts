// The worker answers the 'rope-qk' task by name (registry entry, transfer of its arrays) with the
// same numbers the task module computes in-process, and turns an empty prompt into a message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RopeQk } from '../../src/explorers/rope/qk.ts';
import { Llama } from '../../src/engine/llama.ts';
import { createEngineState, handleRequest } from '../../src/worker/handler.ts';
import type { EngineReply, EngineRequest } from '../../src/worker/protocol.ts';
import { fetchDownloader } from '../../src/worker/sources.ts';
import { ropeQk } from '../../src/worker/tasks/rope-qk.ts';

const EMBEDDED = join(import.meta.dirname, '../../public/models/default');
const modelBytes = new Uint8Array(readFileSync(join(EMBEDDED, 'model.bin')));
const tokenizerBytes = new Uint8Array(readFileSync(join(EMBEDDED, 'tokenizer.bin')));

describe("worker task 'rope-qk'", () => {
  it('answers through the worker handler with every layer\'s q and k, as the task computes them', async () => {
    const state = createEngineState({ download: fetchDownloader(fetch), caches: null });
    const replies: { reply: EngineReply; transfer?: Transferable[] }[] = [];
    const post = (reply: EngineReply, transfer?: Transferable[]) => void replies.push({ reply, transfer });
    let id = 0;
    const send = async (msg: Record<string, unknown>) => {
      const mine = ++id;
      await handleRequest(state, { ...msg, id: mine } as EngineRequest, post);
      return replies.find((r) => (r.reply.type === 'done' || r.reply.type === 'error') && r.reply.id === mine)!;
    };
    await send({ type: 'init', backend: 'cpu' });
    const loaded = await send({ type: 'load', spec: { kind: 'files', model: new File([modelBytes], 'model.bin'), tokenizer: new File([tokenizerBytes], 'tokenizer.bin') } });
    expect(loaded.reply.type).toBe('done');

    const prompt = 'Tom and Lily went to the park.';
    const answer = await send({ type: 'task', name: 'rope-qk', args: { prompt } });
    expect(answer.reply.type).toBe('done');
    const got = (answer.reply as { result: RopeQk }).result;
    expect(answer.transfer).toEqual([got.q.buffer, got.k.buffer]);

    const llama = Llama.fromBytes(modelBytes, 'model.bin', tokenizerBytes, 'tokenizer.bin');
    try {
      const ctx = { model: () => llama, signal: new AbortController().signal, progress: () => {}, pause: async () => {} };
      const want = (await ropeQk(ctx, { prompt })).result;
      expect(got.tokens).toEqual(llama.tokenizer.encode(prompt, { bos: true }));
      expect(got.pieces.slice(1).join('')).toBe(` ${prompt}`);
      expect(got.droppedTokens).toBe(0);
      expect(Array.from(got.q)).toEqual(Array.from(want.q));
      expect(Array.from(got.k)).toEqual(Array.from(want.k));

      // A prompt longer than the context is cut to it, and says by how much.
      const long = await send({ type: 'task', name: 'rope-qk', args: { prompt: 'the cat sat. '.repeat(llama.config.seqLen) } });
      const cut = (long.reply as { result: RopeQk }).result;
      expect(cut.tokens.length).toBe(llama.config.seqLen);
      expect(cut.droppedTokens).toBe(llama.tokenizer.encode('the cat sat. '.repeat(llama.config.seqLen), { bos: true }).length - llama.config.seqLen);
    } finally {
      llama.dispose();
    }

    const empty = await send({ type: 'task', name: 'rope-qk', args: { prompt: '   ' } });
    expect(empty.reply).toMatchObject({ type: 'error', code: 'bad-argument', message: expect.stringMatching(/Type a prompt/) });
  });
});
