/**
 * Where model and tokenizer bytes come from: an in-memory buffer (tests, a dropped file already
 * read), or a stream (fetch body, file stream in Node). Streams report progress as they arrive.
 */
export type ByteSource =
  | ArrayBuffer
  | Uint8Array
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>;

export interface LoadProgress {
  /** What is being loaded, for status lines ("model.bin"). */
  name: string;
  loadedBytes: number;
  /** Undefined when the size is not known in advance (no Content-Length). */
  totalBytes?: number;
}

export interface ReadOptions {
  name: string;
  totalBytes?: number;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** The chunks of a stream or async iterable, as they arrive. */
export async function* chunksOf(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>) {
  if (Symbol.asyncIterator in source) {
    yield* source as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (source as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Collects a source into one contiguous Uint8Array, reporting progress per chunk. */
export async function readAllBytes(source: ByteSource, opts: ReadOptions): Promise<Uint8Array> {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (source instanceof Uint8Array) {
    opts.onProgress?.({ name: opts.name, loadedBytes: source.byteLength, totalBytes: source.byteLength });
    return source;
  }
  const parts: Uint8Array[] = [];
  let loaded = 0;
  for await (const chunk of chunksOf(source)) {
    opts.signal?.throwIfAborted();
    parts.push(chunk);
    loaded += chunk.byteLength;
    opts.onProgress?.({ name: opts.name, loadedBytes: loaded, totalBytes: opts.totalBytes });
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
