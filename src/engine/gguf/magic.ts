/**
 * A GGUF file starts with the four bytes "GGUF"; a llama2.c checkpoint with its config (or
 * "ak42" for version 1+). No other imports: the page uses this to tell a picked file's kind
 * without loading the engine.
 */
export const GGUF_MAGIC = 'GGUF';

export function hasGgufMagic(head: Uint8Array): boolean {
  return head.byteLength >= 4 && String.fromCharCode(head[0], head[1], head[2], head[3]) === GGUF_MAGIC;
}

/** Reads only the first four bytes of a Blob or File. */
export async function isGgufBlob(blob: Blob): Promise<boolean> {
  return hasGgufMagic(new Uint8Array(await blob.slice(0, 4).arrayBuffer()));
}
