/**
 * Turns a LoadSpec into bytes for the engine, reporting progress: a download (remote checkpoints
 * are kept in the Cache API once they have loaded, so a second visit skips the network), or the
 * File objects the reader picked. Large remote files stream to the engine and, at the same time,
 * into the cache, and are never held whole. Tells a GGUF file from a llama2.c checkpoint by its
 * first bytes. No DOM: the downloader and caches are passed in, so Node tests serve files from
 * disk through the same code.
 */
import { EngineError, messageOf } from '../engine/errors.ts';
import type { ByteSource } from '../engine/io/byte-source.ts';
import { hasGgufMagic, isGgufBlob } from '../engine/gguf/magic.ts';
import type { LoadSpec, RemoteFile } from './protocol.ts';

/** Bump when the cached bytes' meaning changes; old entries are then simply never matched. */
export const MODEL_CACHE_NAME = 'llama2-explorer-models-v1';

/** Bytes arrived so far, and the size when the server said it (uncompressed Content-Length). */
export type DownloadProgress = (loaded: number, total: number | null) => void;

/** Fetches a whole file into memory; rejects with a DownloadError. */
export type Downloader = (url: string, onProgress: DownloadProgress) => Promise<Uint8Array>;

export class DownloadError extends Error {
  constructor(
    readonly kind: 'network' | 'http' | 'interrupted',
    message: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface SourceDeps {
  download: Downloader;
  /** Fetches the files marked `stream`; by default the global fetch. */
  fetch?: typeof fetch;
  /** The Cache API where the environment has one (pages and workers over http(s)); else null. */
  caches: CacheStorage | null;
}

/** Shown as the progress label: "Downloading stories15M.bin from huggingface.co". */
export type Activity = (what: string, loaded: number, total: number | null) => void;

export interface OpenedFile {
  name: string;
  /** A picked file stays a Blob: the GGUF reader reads it in slices (see byteSourceOf). */
  source: ByteSource | Blob;
  /** Size when known in advance, for the percentage while the engine reads `source`. */
  bytes?: number;
  /** Label of the engine's reading progress, e.g. "Reading model.bin from cache". */
  activity: string;
  fromCache: boolean;
  /** After a successful load: store the bytes for next time. Resolves to a note when that failed. */
  keep(): Promise<string | null>;
  /** After a failed load: stops any download into the cache and drops what it stored. */
  discard(): Promise<void>;
}

/** A GGUF file carries its tokenizer; a llama2.c checkpoint comes with one. */
export type OpenedSpec = { label: string; origin: string; model: OpenedFile } & (
  | { format: 'gguf'; tokenizer: null }
  | { format: 'llama2c'; tokenizer: OpenedFile }
);

const nothingToKeep = async (): Promise<null> => null;
const nothingToDiscard = async (): Promise<void> => {};

/** What a llama2.c reader takes: a Blob as its stream. */
export const byteSourceOf = (source: ByteSource | Blob): ByteSource =>
  typeof Blob !== 'undefined' && source instanceof Blob ? (source.stream() as ReadableStream<Uint8Array>) : (source as ByteSource);

/** Content-Length, unless the body is compressed (then it counts other bytes than we read). */
export function declaredLength(headers: Headers): number | null {
  if (headers.get('content-encoding')) return null;
  const n = Number(headers.get('content-length'));
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** A response with a body, or a DownloadError. */
async function fetchOk(fetchFn: typeof fetch, url: string): Promise<Response & { body: ReadableStream<Uint8Array> }> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new DownloadError('network', messageOf(e));
  }
  if (!res.ok || !res.body) throw new DownloadError('http', `${res.status} ${res.statusText}`.trim());
  return res as Response & { body: ReadableStream<Uint8Array> };
}

/**
 * A Downloader on fetch, counting bytes as the body streams in: for Node (tests) and anywhere
 * without XMLHttpRequest. The worker uses xhr-download.ts instead (see there why).
 */
export function fetchDownloader(fetchFn: typeof fetch): Downloader {
  return async (url, onProgress) => {
    const res = await fetchOk(fetchFn, url);
    const total = declaredLength(res.headers);
    const parts: Uint8Array[] = [];
    let loaded = 0;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        parts.push(chunk.value);
        loaded += chunk.value.byteLength;
        onProgress(loaded, total);
      }
    } catch (e) {
      throw new DownloadError('interrupted', messageOf(e));
    } finally {
      reader.releaseLock();
    }
    const bytes = new Uint8Array(loaded);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    return bytes;
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || 'this site';
  } catch {
    return 'this site';
  }
}

/** The reader's words for a failed download. */
function downloadFailure(e: unknown, file: RemoteFile): Error {
  const host = hostOf(file.url);
  if (!(e instanceof DownloadError)) return e instanceof Error ? e : new Error(String(e));
  switch (e.kind) {
    case 'network':
      return new Error(`Could not download ${file.name} from ${host} (${e.message}). Are you offline?`);
    case 'http':
      return new Error(`Could not download ${file.name} from ${host}: the server answered ${e.message}`);
    case 'interrupted':
      return new Error(`The download of ${file.name} from ${host} was interrupted (${e.message}).`);
  }
}

const cacheHeaders = (bytes: number | null) => ({
  'content-type': 'application/octet-stream',
  ...(bytes !== null ? { 'content-length': String(bytes) } : {}),
});

/** A stream's chunks, a failure mid-way worded as an interrupted download of `file`. */
function interruptible(body: ReadableStream<Uint8Array>, file: RemoteFile): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw downloadFailure(new DownloadError('interrupted', messageOf(e)), file);
      }
      if (chunk.done) controller.close();
      else controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A stream that can be broken off from outside: the cache's copy of a load that failed. */
function abandonable(body: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; abandon(reason: Error): void } {
  const reader = body.getReader();
  let control!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => void (control = c),
    async pull(c) {
      const chunk = await reader.read();
      if (!open) return;
      if (chunk.done) {
        open = false;
        c.close();
      } else c.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const abandon = (reason: Error) => {
    if (!open) return;
    open = false;
    control.error(reason);
    reader.cancel(reason).catch(() => {});
  };
  return { stream, abandon };
}

/**
 * A large file as a stream for the engine; where there is a cache, the same bytes go into it as
 * they arrive (a streamed Response is stored only once its body is complete), and a failed load
 * breaks that copy off and deletes whatever was stored.
 */
async function openStreamed(file: RemoteFile, cache: Cache | null, deps: SourceDeps, report: Activity, activity: string): Promise<OpenedFile> {
  let res: Response & { body: ReadableStream<Uint8Array> };
  try {
    res = await fetchOk(deps.fetch ?? fetch, file.url);
  } catch (e) {
    throw downloadFailure(e, file);
  }
  const total = declaredLength(res.headers);
  report(activity, 0, total);
  const body = interruptible(res.body, file);
  const opened = { name: file.name, bytes: total ?? undefined, activity, fromCache: false };
  if (!cache) return { ...opened, source: body, keep: nothingToKeep, discard: nothingToDiscard };
  const [forEngine, forCache] = body.tee();
  const copy = abandonable(forCache);
  const stored: Promise<unknown> = cache.put(file.url, new Response(copy.stream, { headers: cacheHeaders(total) })).then(
    () => null,
    (e: unknown) => e,
  );
  return {
    ...opened,
    source: forEngine,
    keep: async () => {
      const failure = await stored;
      return failure === null ? null : `${file.name} could not be cached (${messageOf(failure)}); it will be downloaded again next time`;
    },
    discard: async () => {
      copy.abandon(new Error(`${file.name} did not load, so it is not kept`));
      await stored;
      await cache.delete(file.url).catch(() => false);
    },
  };
}

async function openRemote(file: RemoteFile, useCache: boolean, deps: SourceDeps, report: Activity): Promise<OpenedFile> {
  const cache = useCache && deps.caches ? await deps.caches.open(MODEL_CACHE_NAME).catch(() => null) : null;
  const hit = cache ? await cache.match(file.url).catch(() => undefined) : undefined;
  if (hit?.body) {
    return {
      name: file.name,
      source: hit.body,
      bytes: declaredLength(hit.headers) ?? undefined,
      activity: `Reading ${file.name} from cache`,
      fromCache: true,
      keep: nothingToKeep,
      discard: nothingToDiscard,
    };
  }
  const activity = cache || file.stream ? `Downloading ${file.name} from ${hostOf(file.url)}` : `Reading ${file.name}`;
  if (file.stream) return openStreamed(file, cache, deps, report, activity);
  report(activity, 0, null);
  let bytes: Uint8Array;
  try {
    bytes = await deps.download(file.url, (loaded, total) => report(activity, loaded, total));
  } catch (e) {
    throw downloadFailure(e, file);
  }
  return {
    name: file.name,
    source: bytes,
    bytes: bytes.byteLength,
    activity,
    fromCache: false,
    // Stored only after the model has loaded from these bytes: a broken file is never cached.
    keep: async () => {
      if (!cache) return null;
      try {
        await cache.put(file.url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: cacheHeaders(bytes.byteLength) }));
        return null;
      } catch (e) {
        return `${file.name} could not be cached (${messageOf(e)}); it will be downloaded again next time`;
      }
    },
    discard: nothingToDiscard,
  };
}

function openBlob(blob: Blob & { name?: string }, fallbackName: string): OpenedFile {
  const name = blob.name || fallbackName;
  return { name, source: blob, bytes: blob.size, activity: `Reading ${name}`, fromCache: false, keep: nothingToKeep, discard: nothingToDiscard };
}

/** The first `n` bytes of a stream, and a stream that yields them again and then the rest. */
async function peek(stream: ReadableStream<Uint8Array>, n: number): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const seen: Uint8Array[] = [];
  const head = new Uint8Array(n);
  let have = 0;
  while (have < n) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen.push(chunk.value);
    const part = chunk.value.subarray(0, n - have);
    head.set(part, have);
    have += part.byteLength;
  }
  const again = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of seen) c.enqueue(chunk);
    },
    async pull(c) {
      const chunk = await reader.read();
      if (chunk.done) c.close();
      else c.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { head: head.subarray(0, have), stream: again };
}

/** Whether `file` is a GGUF file, by its magic; a peeked stream is replaced by one that starts over. */
async function isGguf(file: OpenedFile): Promise<boolean> {
  const source = file.source;
  if (source instanceof Uint8Array) return hasGgufMagic(source);
  if (source instanceof ArrayBuffer) return hasGgufMagic(new Uint8Array(source));
  if (typeof Blob !== 'undefined' && source instanceof Blob) return isGgufBlob(source);
  if (source instanceof ReadableStream) {
    const { head, stream } = await peek(source, 4);
    file.source = stream;
    return hasGgufMagic(head);
  }
  throw new Error(`${file.name}: cannot look at the first bytes of this source`);
}

/** Pairs the model with its tokenizer: none for a GGUF file, one for a llama2.c checkpoint. */
async function withFormat(label: string, origin: string, model: OpenedFile, tokenizer: OpenedFile | null): Promise<OpenedSpec> {
  const gguf = await isGguf(model);
  if (gguf && tokenizer)
    throw new EngineError('bad-argument', `${model.name} is a GGUF file, which carries its own tokenizer: leave out the tokenizer file (${tokenizer.name})`);
  if (gguf) return { label, origin, model, format: 'gguf', tokenizer: null };
  if (!tokenizer)
    throw new EngineError('bad-argument', `${model.name} is not a GGUF file, so it needs its tokenizer file too (a llama2.c checkpoint comes with tokenizer.bin or similar)`);
  return { label, origin, model, format: 'llama2c', tokenizer };
}

export async function openSpec(spec: LoadSpec, deps: SourceDeps, report: Activity): Promise<OpenedSpec> {
  if (spec.kind === 'files') {
    const model = openBlob(spec.model, 'model.bin');
    const tokenizer = spec.tokenizer ? openBlob(spec.tokenizer, 'tokenizer.bin') : null;
    return withFormat(model.name, tokenizer ? 'local files' : 'local file', model, tokenizer);
  }
  // Tokenizer first: a small file, so an unreachable host is reported before a long download.
  const tokenizer = spec.tokenizer ? await openRemote(spec.tokenizer, spec.cache, deps, report) : null;
  const model = await openRemote(spec.model, spec.cache, deps, report);
  const origin = spec.origin === 'embedded' ? 'embedded' : model.fromCache ? 'from cache' : 'downloaded';
  try {
    return await withFormat(spec.label, origin, model, tokenizer);
  } catch (e) {
    await model.discard();
    throw e;
  }
}
