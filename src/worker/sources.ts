/**
 * Turns a LoadSpec into bytes for the engine, reporting progress: a download (remote checkpoints
 * are kept in the Cache API once they have loaded, so a second visit skips the network), or the
 * File objects the reader picked. No DOM: the downloader and caches are passed in, so Node tests
 * serve files from disk through the same code.
 */
import type { ByteSource } from '../engine/io/byte-source.ts';
import { messageOf, type LoadSpec, type RemoteFile } from './protocol.ts';

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
  /** The Cache API where the environment has one (pages and workers over http(s)); else null. */
  caches: CacheStorage | null;
}

/** Shown as the progress label: "Downloading stories15M.bin from huggingface.co". */
export type Activity = (what: string, loaded: number, total: number | null) => void;

export interface OpenedFile {
  name: string;
  source: ByteSource;
  /** Size when known in advance, for the percentage while the engine reads `source`. */
  bytes?: number;
  /** Label of the engine's reading progress, e.g. "Reading model.bin from cache". */
  activity: string;
  fromCache: boolean;
  /** After a successful load: store the bytes for next time. Resolves to a note when that failed. */
  keep(): Promise<string | null>;
}

export interface OpenedSpec {
  label: string;
  origin: string;
  model: OpenedFile;
  tokenizer: OpenedFile;
}

const nothingToKeep = async (): Promise<null> => null;

/** Content-Length, unless the body is compressed (then it counts other bytes than we read). */
export function declaredLength(headers: Headers): number | null {
  if (headers.get('content-encoding')) return null;
  const n = Number(headers.get('content-length'));
  return Number.isFinite(n) && n > 0 ? n : null;
}

/**
 * A Downloader on fetch, counting bytes as the body streams in: for Node (tests) and anywhere
 * without XMLHttpRequest. The worker uses xhr-download.ts instead (see there why).
 */
export function fetchDownloader(fetchFn: typeof fetch): Downloader {
  return async (url, onProgress) => {
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      throw new DownloadError('network', messageOf(e));
    }
    if (!res.ok || !res.body) throw new DownloadError('http', `${res.status} ${res.statusText}`.trim());
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
    };
  }
  const activity = cache ? `Downloading ${file.name} from ${hostOf(file.url)}` : `Reading ${file.name}`;
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
        const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) };
        await cache.put(file.url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
        return null;
      } catch (e) {
        return `${file.name} could not be cached (${messageOf(e)}); it will be downloaded again next time`;
      }
    },
  };
}

function openBlob(blob: Blob & { name?: string }, fallbackName: string): OpenedFile {
  const name = blob.name || fallbackName;
  return {
    name,
    source: blob.stream() as ReadableStream<Uint8Array>,
    bytes: blob.size,
    activity: `Reading ${name}`,
    fromCache: false,
    keep: nothingToKeep,
  };
}

export async function openSpec(spec: LoadSpec, deps: SourceDeps, report: Activity): Promise<OpenedSpec> {
  if (spec.kind === 'files') {
    const model = openBlob(spec.model, 'model.bin');
    const tokenizer = openBlob(spec.tokenizer, 'tokenizer.bin');
    return { label: model.name, origin: 'local files', model, tokenizer };
  }
  // Tokenizer first: a small file, so an unreachable host is reported before a long download.
  const tokenizer = await openRemote(spec.tokenizer, spec.cache, deps, report);
  const model = await openRemote(spec.model, spec.cache, deps, report);
  const origin = spec.origin === 'embedded' ? 'embedded' : model.fromCache ? 'from cache' : 'downloaded';
  return { label: spec.label, origin, model, tokenizer };
}
