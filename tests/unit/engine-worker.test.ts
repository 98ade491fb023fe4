// The engine worker's request handler and the page's client, in Node on the cpu backend with the
// real embedded model: the same code the worker runs, minus `self`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngineClient, type EnginePort } from '../../src/client/engine-client.ts';
import { loadSpecFor, REMOTE_MODELS } from '../../src/client/model-sources.ts';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import { generateAll, type GeneratedToken } from '../../src/engine/generate.ts';
import { Llama } from '../../src/engine/llama.ts';
import { createEngineState, handleRequest, type EngineState } from '../../src/worker/handler.ts';
import type { EngineReply, EngineRequest, LoadSpec } from '../../src/worker/protocol.ts';
import { backendFromQuery } from '../../src/worker/protocol.ts';
import { fetchDownloader, MODEL_CACHE_NAME } from '../../src/worker/sources.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';

const ROOT = join(import.meta.dirname, '../..');
const SITE = 'https://site.test/explorer/';
const embeddedModel = new Uint8Array(readFileSync(join(ROOT, 'public/models/default/model.bin')));
const embeddedTokenizer = new Uint8Array(readFileSync(join(ROOT, 'public/models/default/tokenizer.bin')));
// The shipped model's shape, read from its own header (the model is retrained from time to time).
const embeddedConfig = parseLlama2c(embeddedModel, 'model.bin').config;

/** Every URL the tests may fetch, as a server would send it: in 64 KiB chunks with a length. */
const FILES = new Map<string, Uint8Array>([
  [`${SITE}models/default/model.bin`, embeddedModel],
  [`${SITE}models/default/tokenizer.bin`, embeddedTokenizer],
  [REMOTE_MODELS[0].modelUrl, sharedBytes(STORIES260K)],
  [REMOTE_MODELS[0].tokenizerUrl, sharedBytes(TOK512)],
]);

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
  return new Response(chunked(bytes), { headers: { 'content-length': String(bytes.length) } });
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
        async put(url: string, res: Response) {
          store.set(url, { body: await res.arrayBuffer(), headers: res.headers });
        },
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
  constructor(caches: CacheStorage | null = null) {
    this.state = createEngineState({ download: fetchDownloader(fakeFetch), caches });
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
