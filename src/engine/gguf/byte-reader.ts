import { EngineError } from '../errors.ts';
import { chunksOf, type ByteSource, type ReadOptions } from '../io/byte-source.ts';

/** Where a GGUF file can come from: any ByteSource, or a Blob / File (the page's file picker), read in slices. */
export type GgufSource = ByteSource | Blob;

/** Pulls up to `want` more bytes from the input (fewer is fine), or null at its end. */
type Pull = (want: number) => Promise<Uint8Array | null>;

function pullerOf(source: GgufSource): { pull: Pull; size?: number; close: () => void } {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (source instanceof Uint8Array) {
    let done = false;
    const whole = source;
    return { pull: async () => (done ? null : ((done = true), whole)), size: whole.byteLength, close: () => {} };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const blob = source;
    let at = 0;
    const pull: Pull = async (want) => {
      if (at >= blob.size) return null;
      const end = Math.min(blob.size, at + want);
      const bytes = new Uint8Array(await blob.slice(at, end).arrayBuffer());
      at = end;
      return bytes;
    };
    return { pull, size: blob.size, close: () => {} };
  }
  const chunks = chunksOf(source as ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>);
  const pull: Pull = async () => {
    const { done, value } = await chunks.next();
    return done ? null : value;
  };
  // Ends the stream early (a refused file need not be downloaded to its end).
  return { pull, close: () => void chunks.return(undefined) };
}

/**
 * Sequential reads over any GgufSource, holding only the bytes asked for: a stream's chunks are
 * cut and joined to the requested lengths, a Blob is sliced. Progress is reported as bytes arrive.
 */
export class ByteReader {
  /** Bytes handed out so far (minus any given back with unread). */
  position = 0;
  /** Bytes that have arrived from the source: what progress reports. */
  private received = 0;
  readonly totalBytes?: number;
  private ended = false;
  private readonly pending: Uint8Array[] = [];
  private readonly pull: Pull;
  readonly close: () => void;

  constructor(
    source: GgufSource,
    private readonly opts: ReadOptions,
  ) {
    const p = pullerOf(source);
    this.pull = p.pull;
    this.close = p.close;
    this.totalBytes = p.size ?? opts.totalBytes;
  }

  /** The next `n` bytes, or fewer only where the input ends. */
  async readUpTo(n: number): Promise<Uint8Array> {
    this.opts.signal?.throwIfAborted();
    const parts: Uint8Array[] = [];
    let have = 0;
    while (have < n) {
      let chunk = this.pending.shift();
      if (!chunk && !this.ended) {
        chunk = (await this.pull(n - have)) ?? undefined;
        if (!chunk) this.ended = true;
        this.opts.signal?.throwIfAborted();
        if (chunk) {
          this.received += chunk.byteLength;
          this.opts.onProgress?.({ name: this.opts.name, loadedBytes: this.received, totalBytes: this.totalBytes });
        }
      }
      if (!chunk) break;
      if (chunk.byteLength > n - have) {
        this.pending.unshift(chunk.subarray(n - have));
        chunk = chunk.subarray(0, n - have);
      }
      parts.push(chunk);
      have += chunk.byteLength;
    }
    this.position += have;
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(have);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  /** Exactly `n` bytes; a shorter input is a truncated file, named by `what` ("tensor blk.0.attn_q.weight"). */
  async readExactly(n: number, what: string): Promise<Uint8Array> {
    const start = this.position;
    const bytes = await this.readUpTo(n);
    if (bytes.byteLength < n) {
      throw new EngineError(
        'gguf-format',
        `${this.opts.name}: file is truncated: ${what} needs bytes ${start}..${start + n}, but the file ends at byte ${start + bytes.byteLength}`,
      );
    }
    return bytes;
  }

  /** Gives bytes back, to be read again next (what a look-ahead read past a boundary took). */
  unread(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.pending.unshift(bytes);
    this.position -= bytes.byteLength;
  }
}
