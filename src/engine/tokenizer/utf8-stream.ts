/**
 * Turns a stream of token bytes into text. Byte-fallback tokens deliver one multi-byte character
 * a byte at a time, so an incomplete trailing sequence is held back until the bytes that finish it
 * arrive; printing it early would show U+FFFD where the text has a real character.
 */
export class Utf8StreamDecoder {
  // ignoreBOM: a U+FEFF the model writes is text, not a byte-order mark to swallow.
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  /** The complete characters these bytes finish; an incomplete tail waits for the next push. */
  push(bytes: Uint8Array): string {
    return this.decoder.decode(bytes, { stream: true });
  }

  /** Whatever is held back, as U+FFFD if it never became a character; the decoder starts afresh. */
  flush(): string {
    return this.decoder.decode();
  }
}
