/**
 * The GGUF header: magic, version, metadata key/values and tensor infos, parsed by
 * @huggingface/gguf. Its `gguf()` fetches HTTP ranges, so it is given a fetch that serves the
 * ranges from our ByteReader: it asks for consecutive 2 MB ranges from byte 0, which any
 * source (stream or Blob) can answer in order. In Node it only accepts http(s) URIs for remote
 * reads, hence the placeholder URI (never fetched). Two things it leaves to us: it accepts
 * version 1 and big-endian files (refused here), and it reads zeros past the end of a short
 * file instead of failing, so the header's end is checked against the bytes really read.
 * Page bundles: importing it pulls in @huggingface/tasks (about 64 kB gzipped), so the page
 * should import src/engine/gguf lazily.
 */
import { gguf, type MetadataValue } from '@huggingface/gguf';
import { EngineError, mismatch } from '../errors.ts';
import type { ByteReader } from './byte-reader.ts';
import { GGUF_MAGIC } from './magic.ts';
import { ggmlTypeName } from './tensor-types.ts';

export type { MetadataValue };

export interface GgufTensorInfo {
  name: string;
  /** The GGML type id (GGMLQuantizationType). */
  type: number;
  typeName: string;
  /** GGUF's dimensions, innermost first: a row-major [rows, cols] matrix is [cols, rows]. */
  dims: number[];
  elements: number;
  /** Absolute byte offset of the data in the file. */
  offset: number;
}

export interface GgufHeader {
  version: number;
  /** Every key/value pair of the file (arrays as JS arrays, 64-bit integers as bigint). */
  metadata: Record<string, MetadataValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Where the tensor data section starts (tensor offsets are relative to it in the file). */
  dataOffset: number;
}

const PLACEHOLDER_URI = 'https://gguf.invalid/model.gguf';
/** What gguf() puts beside the key/value pairs in its metadata object. */
const COUNT_KEYS = new Set(['version', 'tensor_count', 'kv_count']);

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');

async function checkMagicAndVersion(reader: ByteReader, file: string): Promise<void> {
  const head = await reader.readUpTo(8);
  reader.unread(head);
  const magic = new TextDecoder().decode(head.subarray(0, 4));
  if (head.byteLength < 8 || magic !== GGUF_MAGIC) {
    const what = magic === 'ak42' ? ' (a llama2.c checkpoint)' : '';
    throw mismatch('gguf-format', file, 'not a GGUF file: first bytes', `the magic "${GGUF_MAGIC}" and a version`, `${hex(head)}${what}`);
  }
  const version = new DataView(head.buffer, head.byteOffset, 8).getUint32(4, true);
  if (version !== 2 && version !== 3) throw mismatch('gguf-unsupported', file, 'GGUF version', '2 or 3 (little-endian)', version);
}

const toNumber = (v: bigint | number, what: string, file: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw mismatch('gguf-format', file, what, 'a safe integer', String(v));
  return n;
};

/** Reads the header and leaves the reader at the start of the tensor data. */
export async function readGgufHeader(reader: ByteReader, file: string): Promise<GgufHeader> {
  await checkMagicAndVersion(reader, file);
  const served: Uint8Array[] = [];
  let servedBytes = 0;
  const rangeFetch = async (_uri: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const range = /bytes=(\d+)-(\d+)/.exec(new Headers(init?.headers).get('range') ?? '');
    if (!range) throw new Error('the GGUF parser asked for a whole file instead of a byte range');
    const start = Number(range[1]);
    const end = Number(range[2]) + 1;
    // Consecutive ranges from 0; one starting past what was served means the file has ended.
    const bytes = start === servedBytes ? await reader.readUpTo(end - start) : new Uint8Array(0);
    served.push(bytes);
    servedBytes += bytes.byteLength;
    const headers: Record<string, string> = {};
    if (reader.totalBytes !== undefined) headers['content-range'] = `bytes ${start}-${end - 1}/${reader.totalBytes}`;
    return new Response(bytes.slice(), { status: 206, headers });
  };

  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    parsed = await gguf(PLACEHOLDER_URI, { fetch: rangeFetch as typeof fetch });
  } catch (e) {
    if (e instanceof EngineError || (e instanceof DOMException && e.name === 'AbortError')) throw e;
    throw new EngineError('gguf-format', `${file}: unreadable GGUF header: ${(e as Error).message}`);
  }
  if (!parsed.littleEndian) throw new EngineError('gguf-unsupported', `${file}: big-endian GGUF files are not supported`);
  const headerEnd = parsed.tensorInfoByteRange[1];
  if (headerEnd > servedBytes) {
    throw mismatch('gguf-format', file, 'file is truncated inside the header: size in bytes', `at least ${headerEnd}`, servedBytes);
  }

  const dataOffset = toNumber(parsed.tensorDataOffset, 'tensor data offset', file);
  // Give back what the parser read past the header: it is the start of the tensor data.
  // (Last part first: each unread goes in front of the ones before.)
  for (let i = served.length - 1, end = servedBytes; i >= 0; i--) {
    const part = served[i];
    const start = end - part.byteLength;
    end = start;
    const from = Math.max(0, dataOffset - start);
    if (from < part.byteLength) reader.unread(part.subarray(from));
  }
  if (reader.position < dataOffset) await reader.readExactly(dataOffset - reader.position, 'the padding before the tensor data');

  const metadata: Record<string, MetadataValue> = {};
  for (const [key, value] of Object.entries(parsed.metadata)) if (!COUNT_KEYS.has(key)) metadata[key] = value as MetadataValue;
  const tensors = parsed.tensorInfos.map((t): GgufTensorInfo => {
    const dims = t.shape.map((d) => toNumber(d, `dimension of tensor ${t.name}`, file));
    return {
      name: t.name,
      type: t.dtype,
      typeName: ggmlTypeName(t.dtype),
      dims,
      elements: dims.reduce((a, b) => a * b, 1),
      offset: dataOffset + toNumber(t.offset, `offset of tensor ${t.name}`, file),
    };
  });
  const alignment = Number(metadata['general.alignment'] ?? 32);
  return { version: Number(parsed.metadata.version), metadata, tensors, alignment, dataOffset };
}
