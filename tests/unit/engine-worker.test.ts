// The engine worker's request handler and the page's client, in Node on the cpu backend with the
// real embedded model: the same code the worker runs, minus `self`.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngineClient, type EnginePort } from '../../src/client/engine-client.ts';
import { loadSpecFor, REMOTE_MODELS } from '../../src/client/model-sources.ts';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import { generateAll, type GeneratedToken } from '../../src/engine/generate.ts';
import { writeGguf } from '../../src/engine/gguf/write-gguf.ts';
import { Llama } from '../../src/engine/llama.ts';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { createEngineState, handleRequest, type EngineDeps, type EngineState } from '../../src/worker/handler.ts';
import type { EngineReply, EngineRequest, LoadedModel, LoadSpec } from '../../src/worker/protocol.ts';
import { backendFromQuery } from '../../src/worker/protocol.ts';
import { fetchDownloader, MODEL_CACHE_NAME } from '../../src/worker/sources.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';

const ROOT = join(import.meta.dirname, '../..');
const SITE = 'https://site.test/explorer/';
const embeddedModel = new Uint8Array(readFileSync(join(ROOT, 'public/models/default/model.bin')));
const embeddedTokenizer = new Uint8Array(readFileSync(join(ROOT, 'public/models/default/tokenizer.bin')));
// The shipped model's shape, read from its own header (the model is retrained from time to time).
const embeddedConfig = parseLlama2c(embeddedModel, 'model.bin').config;

/** The embedded model as a GGUF file with int8 matrices, the way `npm run cli -- convert --type q8_0` writes it. */
const ggufOf = (config = embeddedConfig) =>
  writeGguf({ ...parseLlama2c(embeddedModel, 'model.bin'), config }, Tokenizer.fromBytes(embeddedTokenizer, 'tokenizer.bin'), { type: 'q8_0' });
const embeddedGguf = ggufOf();
/**
 * The same weights claiming a 4M-token context: its float32 key/value cache alone would take
 * 2 × 5 layers × 2^22 positions × kvDim × 4 bytes, far beyond the 8 GiB the tests say the machine has.
 */
const hugeContextGguf = ggufOf({ ...embeddedConfig, seqLen: 2 ** 22 });
const EIGHT_GIB = 8 * 2 ** 30;
const REMOTE_GGUF = 'https://huggingface.co/test/embedded.q8_0.gguf';
const TRUNCATED_GGUF = 'https://huggingface.co/test/truncated.q8_0.gguf';
const HUGE_GGUF = 'https://huggingface.co/test/huge-context.q8_0.gguf';

/** Every URL the tests may fetch, as a server would send it: in 64 KiB chunks with a length. */
const FILES = new Map<string, Uint8Array>([
  [`${SITE}models/default/model.bin`, embeddedModel],
  [`${SITE}models/default/tokenizer.bin`, embeddedTokenizer],
  [REMOTE_MODELS[0].modelUrl, sharedBytes(STORIES260K)],
  [REMOTE_MODELS[0].tokenizerUrl!, sharedBytes(TOK512)],
  [REMOTE_GGUF, embeddedGguf],
  [TRUNCATED_GGUF, embeddedGguf.slice(0, embeddedGguf.length - 1000)],
  [HUGE_GGUF, hugeContextGguf],
]);
/** Served without a Content-Length, so that a truncated file is noticed only at its end. */
const NO_LENGTH = new Set([TRUNCATED_GGUF]);

function chunked(bytes: Uint8Array, size = 65536): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

const fetched: string[] = [];
let offline = false;
const fakeFetch = (async (input: string | URL | Request) => {
  const url = String(input);
  fetched.push(url);
  if (offline) throw new TypeError('fetch failed');
  const bytes = FILES.get(url);
  if (!bytes) return new Response('Not found', { status: 404, statusText: 'Not Found' });
  return new Response(chunked(bytes), { headers: NO_LENGTH.has(url) ? {} : { 'content-length': String(bytes.length) } });
}) as typeof fetch;

/** The Cache API, as far as sources.ts uses it, kept in a Map. */
function fakeCaches(): CacheStorage {
  const stores = new Map<string, Map<string, { body: ArrayBuffer; headers: Headers }>>();
  return {
    async open(name: string) {
      const store = stores.get(name) ?? new Map();
      stores.set(name, store);
      return {
        async match(url: string) {
          const hit = store.get(url);
          return hit ? new Response(hit.body.slice(0), { headers: hit.headers }) : undefined;
        },
        // Like the Cache API, an entry exists only once its whole body has been read.
        async put(url: string, res: Response) {
          store.set(url, { body: await res.arrayBuffer(), headers: res.headers });
        },
        delete: async (url: string) => store.delete(url),
      };
    },
    has: async (name: string) => stores.has(name),
  } as unknown as CacheStorage;
}

/** Drives a handler the way the worker does, keeping every reply. */
class Session {
  readonly state: EngineState;
  readonly replies: EngineReply[] = [];
  private nextId = 1;
  onReply: (r: EngineReply) => void = () => {};
  constructor(caches: CacheStorage | null = null, deps: Partial<EngineDeps> = {}) {
    this.state = createEngineState({ download: fetchDownloader(fakeFetch), fetch: fakeFetch, caches, ...deps });
  }
  readonly post = (r: EngineReply) => {
    this.replies.push(r);
    this.onReply(r);
  };
  async send(body: DistributiveOmit<EngineRequest, 'id'>): Promise<{ id: number; reply: EngineReply }> {
    const id = this.nextId++;
    await handleRequest(this.state, { ...body, id } as EngineRequest, this.post);
    const reply = this.replies.find((r) => (r.type === 'done' || r.type === 'error') && r.id === id);
    if (!reply) throw new Error(`request ${id} was not answered`);
    return { id, reply };
  }
  tokens(id: number): GeneratedToken[] {
    return this.replies.flatMap((r) => (r.type === 'token' && r.id === id ? [r.token] : []));
  }
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const embedded = loadSpecFor({ kind: 'embedded' }, SITE);
const greedy = { prompt: 'Once upon a time', temperature: 0, steps: 40 };

function done<T>(reply: EngineReply): T {
  if (reply.type !== 'done') throw new Error(`expected done, got ${JSON.stringify(reply)}`);
  return reply.result as T;
}

describe('engine worker handler (cpu backend)', () => {
  const session = new Session();
  let reference: GeneratedToken[] = [];

  beforeAll(async () => {
    const init = await session.send({ type: 'init', backend: 'cpu' });
    expect(done<{ backend: string }>(init.reply).backend).toBe('cpu');
    const llama = Llama.fromBytes(embeddedModel, 'model.bin', embeddedTokenizer, 'tokenizer.bin');
    await generateAll(llama, greedy, (t) => reference.push(t));
    llama.dispose();
  });

  it('loads the embedded model with byte progress, then is ready', async () => {
    const { reply } = await session.send({ type: 'load', spec: embedded });
    const model = done<{ name: string; parameters: number; config: { vocabSize: number } }>(reply);
    expect(model.config.vocabSize).toBe(embeddedConfig.vocabSize);
    expect(model.parameters).toBeGreaterThan(1_000_000);
    const progress = session.replies.flatMap((r) => (r.type === 'status' && r.status.progress ? [r.status.progress] : []));
    const modelSteps = progress.filter((p) => p.what === 'Reading model.bin');
    expect(modelSteps.length).toBeGreaterThan(2); // chunk by chunk, not all at once
    expect(modelSteps.at(-1)).toEqual({ what: 'Reading model.bin', loaded: embeddedModel.length, total: embeddedModel.length });
    expect(session.state.status).toMatchObject({ state: 'ready', backend: 'cpu', progress: null, error: null });
    expect(session.state.status.backendReasons).toEqual(['cpu was requested in the page address (?backend=cpu)']);
  });

  it('streams a greedy generation identical to generateAll in-process', async () => {
    const { id, reply } = await session.send({ type: 'generate', options: greedy });
    const result = done<{ tokens: number[]; stopReason: string }>(reply);
    expect(session.tokens(id)).toEqual(reference);
    expect(result.tokens).toEqual(reference.map((t) => t.id));
  });

  it('stops a generation when asked between tokens', async () => {
    let stopSent = false;
    const stopped = session.send({ type: 'generate', options: { ...greedy, steps: 200 } });
    session.onReply = (r) => {
      // From a timer, as a message arrives: the generation must yield to the event loop to see it.
      if (r.type === 'token' && !r.token.fromPrompt && !stopSent) {
        stopSent = true;
        setTimeout(() => void handleRequest(session.state, { type: 'stop', id: r.id }, session.post), 0);
      }
    };
    const { id, reply } = await stopped;
    session.onReply = () => {};
    expect(done<{ stopReason: string }>(reply).stopReason).toBe('aborted');
    expect(session.tokens(id).length).toBeLessThan(60);
  });

  it('inspects the forward pass with display pieces and transferable arrays', async () => {
    const { reply } = await session.send({ type: 'inspect', prompt: 'Once upon', position: 2 });
    const trace = done<{ tokens: number[]; pieces: string[]; token: number; steps: { values: Float32Array }[] }>(reply);
    expect(trace.pieces[0]).toBe('<s>');
    expect(trace.pieces.length).toBe(trace.tokens.length);
    expect(trace.token).toBe(trace.tokens[2]);
    const buffers = new Set(trace.steps.map((s) => s.values.buffer));
    expect(buffers.size).toBe(trace.steps.length);
    const bad = await session.send({ type: 'inspect', prompt: 'Once', position: 9 });
    expect(bad.reply).toMatchObject({ type: 'error', code: 'bad-argument' });
  });

  it('tokenizes with BOS first', async () => {
    const { reply } = await session.send({ type: 'tokenize', text: 'Once upon a time' });
    const t = done<{ ids: number[]; pieces: string[] }>(reply);
    expect(t.ids[0]).toBe(1);
    expect(t.pieces.slice(1).join('')).toBe(' Once upon a time');
  });

  it('reports a truncated checkpoint in the engine\'s words and keeps the previous model', async () => {
    const truncated = embeddedModel.slice(0, embeddedModel.length - 1000);
    const expected = (() => {
      try {
        parseLlama2c(truncated, 'broken.bin');
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('parseLlama2c accepted a truncated file');
    })();
    const spec: LoadSpec = {
      kind: 'files',
      model: new File([truncated], 'broken.bin'),
      tokenizer: new File([embeddedTokenizer], 'tokenizer.bin'),
    };
    const { reply } = await session.send({ type: 'load', spec });
    expect(reply).toMatchObject({ type: 'error', message: expected, code: expect.stringMatching(/^checkpoint-/) });
    expect(session.state.status).toMatchObject({ state: 'ready', error: expected, progress: null });
    expect(session.state.status.model?.name).toBe('Embedded TinyStories model');
    const again = await session.send({ type: 'generate', options: greedy });
    expect(session.tokens(again.id)).toEqual(reference);
  });

  it('names the mismatch when the tokenizer does not fit the model', async () => {
    const spec: LoadSpec = {
      kind: 'files',
      model: new File([sharedBytes(STORIES260K) as Uint8Array<ArrayBuffer>], 'stories260K.bin'),
      tokenizer: new File([embeddedTokenizer], 'tokenizer.bin'),
    };
    const { reply } = await session.send({ type: 'load', spec });
    expect(reply).toMatchObject({ type: 'error', code: 'tokenizer-mismatch' });
    expect((reply as { message: string }).message).toBe(`tokenizer.bin: vocabulary size for model stories260K.bin: expected 512, got ${embeddedConfig.vocabSize}`);
  });
});

describe('remote models', () => {
  const caches = fakeCaches();
  const session = new Session(caches);
  const spec = loadSpecFor({ kind: 'url', id: 'stories260K' }, SITE);

  beforeAll(async () => {
    await session.send({ type: 'init', backend: 'cpu' });
  });

  it('downloads with progress, caches after loading, and the second load skips the network', async () => {
    fetched.length = 0;
    const first = done<{ origin: string; config: { vocabSize: number } }>((await session.send({ type: 'load', spec })).reply);
    expect(first).toMatchObject({ origin: 'downloaded', config: { vocabSize: 512 } });
    expect(fetched).toEqual([REMOTE_MODELS[0].tokenizerUrl, REMOTE_MODELS[0].modelUrl]);
    const whats = new Set(session.replies.flatMap((r) => (r.type === 'status' && r.status.progress ? [r.status.progress.what] : [])));
    expect(whats).toContain('Downloading stories260K.bin from huggingface.co');
    expect(await caches.has(MODEL_CACHE_NAME)).toBe(true);

    fetched.length = 0;
    const second = done<{ origin: string }>((await session.send({ type: 'load', spec })).reply);
    expect(second.origin).toBe('from cache');
    expect(fetched).toEqual([]);
  });

  it('says the download failed when offline and keeps the current model', async () => {
    const other = loadSpecFor({ kind: 'embedded' }, SITE);
    await session.send({ type: 'load', spec: other });
    offline = true;
    try {
      const uncached = { ...spec, model: { url: 'https://huggingface.co/x/stories15M.bin', name: 'stories15M.bin' } } as LoadSpec;
      const { reply } = await session.send({ type: 'load', spec: uncached });
      expect(reply).toMatchObject({ type: 'error' });
      expect((reply as { message: string }).message).toBe(
        'Could not download stories15M.bin from huggingface.co (fetch failed). Are you offline?',
      );
      expect(session.state.status).toMatchObject({ state: 'ready', model: { name: 'Embedded TinyStories model' } });
    } finally {
      offline = false;
    }
  });

  it('says so when a download breaks off half-way', async () => {
    const broken = fetchDownloader((async () =>
      new Response(
        new ReadableStream({
          pull(c) {
            c.enqueue(new Uint8Array(10));
            c.error(new TypeError('network error'));
          },
        }),
      )) as unknown as typeof fetch);
    await expect(broken('https://huggingface.co/x.bin', () => {})).rejects.toMatchObject({ kind: 'interrupted', message: 'network error' });
  });

  it('reports an HTTP error with its status', async () => {
    const missing = { ...spec, tokenizer: { url: 'https://huggingface.co/x/none.bin', name: 'none.bin' } } as LoadSpec;
    const { reply } = await session.send({ type: 'load', spec: missing });
    expect((reply as { message: string }).message).toBe('Could not download none.bin from huggingface.co: the server answered 404 Not Found');
  });
});

/** A File that records the size of every slice read from it. */
class CountingFile extends File {
  readonly slices: number[] = [];
  override slice(start?: number, end?: number, type?: string): Blob {
    const part = super.slice(start, end, type);
    this.slices.push(part.size);
    return part;
  }
}

const progressOf = (session: Session, what: string) =>
  session.replies.flatMap((r) => (r.type === 'status' && r.status.progress?.what === what ? [r.status.progress] : []));

describe('GGUF models', () => {
  const caches = fakeCaches();
  const session = new Session(caches, { hostMemoryBytes: EIGHT_GIB });
  let reference: GeneratedToken[] = [];
  let referenceWeightBytes = 0;
  /** "q8_0 (5 matrices float32: …)": w2's rows (hiddenDim) are not whole 32-blocks, so they stay float. */
  let referenceFormat = '';
  const remote: LoadSpec = { kind: 'fetch', label: 'embedded q8_0', origin: 'remote', model: { url: REMOTE_GGUF, name: 'embedded.q8_0.gguf', stream: true }, tokenizer: null, cache: true };

  beforeAll(async () => {
    await session.send({ type: 'init', backend: 'cpu' });
    const llama = await Llama.loadGguf({ model: embeddedGguf, modelName: 'embedded.q8_0.gguf' });
    referenceWeightBytes = llama.weightBytes;
    referenceFormat = llama.weightFormatDescription;
    expect(llama.weightFormat).toBe('q8_0');
    await generateAll(llama, greedy, (t) => reference.push(t));
    llama.dispose();
  });

  it('loads one picked .gguf file, read in slices, and generates what Llama.loadGguf does in Node', async () => {
    const file = new CountingFile([embeddedGguf as Uint8Array<ArrayBuffer>], 'embedded.q8_0.gguf');
    const { reply } = await session.send({ type: 'load', spec: { kind: 'files', model: file, tokenizer: null } });
    expect(done<LoadedModel>(reply)).toMatchObject({
      name: 'embedded.q8_0.gguf',
      origin: 'local file',
      tokenizerName: 'built into the GGUF file',
      weightFormat: referenceFormat,
      weightBytes: referenceWeightBytes,
      config: { vocabSize: embeddedConfig.vocabSize },
    });
    // Read in slices, each byte about once (plus the 4 bytes that told it was GGUF), never whole:
    // the header parser reads ahead 2 MB (most of this small file), the tensors past it follow.
    expect(file.slices.length).toBeGreaterThan(2);
    expect(Math.max(...file.slices)).toBeLessThan(file.size);
    expect(Math.abs(file.slices.reduce((a, b) => a + b, 0) - file.size)).toBeLessThan(32);
    const steps = progressOf(session, 'Reading embedded.q8_0.gguf');
    expect(steps.length).toBeGreaterThan(2);
    // The last tensor's padding to GGUF's 32-byte alignment is the only part left unread.
    expect(steps.at(-1)!.total).toBe(embeddedGguf.length);
    expect(embeddedGguf.length - steps.at(-1)!.loaded).toBeLessThan(32);
    const { id } = await session.send({ type: 'generate', options: greedy });
    expect(session.tokens(id)).toEqual(reference);
  });

  it('shows the engine\'s refusal where an explorer needs the float weights of a streamed model', async () => {
    const { reply } = await session.send({ type: 'task', name: 'kv-variant', args: { kvHeads: embeddedConfig.nKvHeads, stories: ['Once.'], prompt: 'Once', steps: 2 } });
    expect(reply).toMatchObject({ type: 'error', code: 'bad-argument' });
    expect((reply as { message: string }).message).toMatch(/^Pooling key\/value heads needs the model's float weights in memory, and embedded\.q8_0\.gguf was streamed to the backend \(q8_0/);
  });

  it('refuses a model that does not fit before reading its weights, and keeps the loaded one', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const file = new File([hugeContextGguf as Uint8Array<ArrayBuffer>], 'huge-context.gguf');
    const { reply } = await session.send({ type: 'load', spec: { kind: 'files', model: file, tokenizer: null } });
    expect(reply).toMatchObject({ type: 'error', code: 'out-of-memory' });
    expect((reply as { message: string }).message).toMatch(/^huge-context\.gguf: needs .* GiB \(weights .*, key\/value cache .*\); the cpu backend's host memory holds 8\.00 GiB/);
    expect(tf.memory().numTensors).toBe(tensorsBefore); // nothing was uploaded
    expect(session.state.status).toMatchObject({ state: 'ready', progress: null, model: { name: 'embedded.q8_0.gguf' } });
    const { id } = await session.send({ type: 'generate', options: greedy });
    expect(session.tokens(id)).toEqual(reference);
  });

  it('says which file is missing: a llama2.c checkpoint needs its tokenizer, a GGUF file needs none', async () => {
    const alone = await session.send({ type: 'load', spec: { kind: 'files', model: new File([embeddedModel], 'model.bin'), tokenizer: null } });
    expect(alone.reply).toMatchObject({ type: 'error', code: 'bad-argument', message: expect.stringMatching(/^model\.bin is not a GGUF file, so it needs its tokenizer file too/) });
    const both = await session.send({ type: 'load', spec: { kind: 'files', model: new File([embeddedGguf as Uint8Array<ArrayBuffer>], 'x.bin'), tokenizer: new File([embeddedTokenizer], 'tokenizer.bin') } });
    expect(both.reply).toMatchObject({ type: 'error', code: 'bad-argument', message: expect.stringMatching(/^x\.bin is a GGUF file, which carries its own tokenizer/) });
  });

  it('streams a remote GGUF into the engine and the cache at once; the next load reads the cache', async () => {
    fetched.length = 0;
    const first = done<LoadedModel>((await session.send({ type: 'load', spec: remote })).reply);
    expect(first).toMatchObject({ origin: 'downloaded', weightFormat: referenceFormat });
    expect(fetched).toEqual([REMOTE_GGUF]);
    const steps = progressOf(session, 'Downloading embedded.q8_0.gguf from huggingface.co');
    expect(steps.length).toBeGreaterThan(2); // chunk by chunk as it arrives
    expect(steps.at(-1)!.total).toBe(embeddedGguf.length);
    const stored = await (await caches.open(MODEL_CACHE_NAME)).match(REMOTE_GGUF);
    // Byte for byte (Buffer.compare: toEqual on two 2 MB arrays takes seconds).
    expect(Buffer.compare(new Uint8Array(await stored!.arrayBuffer()), embeddedGguf)).toBe(0);

    fetched.length = 0;
    const second = done<LoadedModel>((await session.send({ type: 'load', spec: remote })).reply);
    expect(second).toMatchObject({ origin: 'from cache', weightFormat: referenceFormat });
    expect(fetched).toEqual([]);
    expect(progressOf(session, 'Reading embedded.q8_0.gguf from cache').at(-1)?.total).toBe(embeddedGguf.length);
    const { id } = await session.send({ type: 'generate', options: greedy });
    expect(session.tokens(id)).toEqual(reference);
  });

  it('never caches a remote file whose load failed, even when its download completed', async () => {
    const cache = await caches.open(MODEL_CACHE_NAME);
    const truncated = { ...remote, model: { url: TRUNCATED_GGUF, name: 'truncated.q8_0.gguf', stream: true } };
    const cut = await session.send({ type: 'load', spec: truncated });
    expect(cut.reply).toMatchObject({ type: 'error', code: 'gguf-format', message: expect.stringMatching(/^truncated\.q8_0\.gguf: file is truncated/) });
    expect(await cache.match(TRUNCATED_GGUF)).toBeUndefined();

    const huge = { ...remote, model: { url: HUGE_GGUF, name: 'huge-context.q8_0.gguf', stream: true } };
    const refused = await session.send({ type: 'load', spec: huge });
    expect(refused.reply).toMatchObject({ type: 'error', code: 'out-of-memory' });
    expect(await cache.match(HUGE_GGUF)).toBeUndefined();
    expect(session.state.status).toMatchObject({ state: 'ready', model: { name: 'embedded q8_0', origin: 'from cache' } });
  });
});

describe('engine client over an in-process port', () => {
  function connect(): { client: ReturnType<typeof createEngineClient>; requests: EngineRequest[] } {
    const state = createEngineState({ download: fetchDownloader(fakeFetch), caches: null });
    const requests: EngineRequest[] = [];
    const port: EnginePort = {
      onmessage: null,
      postMessage(msg) {
        requests.push(msg);
        // Asynchronous like a worker: the reply comes in a later task.
        setTimeout(() => void handleRequest(state, msg, (reply) => port.onmessage?.({ data: reply } as MessageEvent<EngineReply>)), 0);
      },
    };
    return { client: createEngineClient(port, { siteRoot: SITE, backend: 'cpu' }), requests };
  }

  it('loads the embedded model on first use, streams tokens and stops', async () => {
    const { client, requests } = connect();
    const states: string[] = [];
    client.subscribe((s) => states.push(s.state));
    const tokens: GeneratedToken[] = [];
    const run = client.generate({ ...greedy, steps: 200 }, (t) => {
      tokens.push(t);
      if (tokens.filter((x) => !x.fromPrompt).length === 3) run.stop();
    });
    const result = await run.result;
    expect(result.stopReason).toBe('aborted');
    expect(states[0]).toBe('idle');
    expect(states).toContain('loading');
    expect(client.status.state).toBe('ready');
    expect(requests.map((r) => r.type)).toEqual(['init', 'load', 'generate', 'stop']);
    // A second ensureLoaded does not load again.
    await client.ensureLoaded();
    expect(requests.filter((r) => r.type === 'load')).toHaveLength(1);
    const tokenized = await client.tokenize('Once upon');
    expect(tokenized.pieces[0]).toBe('<s>');
    expect(await client.pieces(tokenized.ids)).toEqual(tokenized.pieces);
    await expect(client.pieces([5000])).rejects.toThrow(/outside this model's vocabulary/);
  });

  it('rejects a bad load with the readable message', async () => {
    const { client } = connect();
    await client.ensureLoaded();
    await expect(client.load({ kind: 'url', id: 'nope' })).rejects.toThrow(/Unknown model "nope"/);
    const broken = new File([embeddedModel.slice(0, 100)], 'tiny.bin');
    await expect(client.load({ kind: 'files', model: broken, tokenizer: new File([embeddedTokenizer], 'tokenizer.bin') })).rejects.toThrow(/^tiny\.bin: /);
    expect(client.status.state).toBe('ready');
  });

  it('runs a named task with progress, stops it, and names an unknown task', async () => {
    const { client } = connect();
    const seen: number[] = [];
    const full = client.task('count', { n: 5 }, (p) => seen.push(p));
    expect(await full.result).toEqual({ counted: 5 });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    const stopped = client.task('count', { n: 10_000 }, (p) => p === 3 && stopped.stop());
    const { counted } = await stopped.result;
    expect(counted).toBeGreaterThanOrEqual(3);
    expect(counted).toBeLessThan(10_000);
    await expect(client.task('no-such-task' as 'count', { n: 1 }).result).rejects.toThrow(/unknown task "no-such-task"/);
  });

  it('reads ?backend= from the page address', () => {
    expect(backendFromQuery('?backend=wasm')).toBe('wasm');
    expect(backendFromQuery('?backend=nonsense')).toBe('auto');
    expect(backendFromQuery('')).toBe('auto');
  });
});
