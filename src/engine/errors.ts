/**
 * Every failure the engine reports to a person is an EngineError: a one-line message that names
 * the file (when there is one), what was expected and what was found. Callers (CLI, worker, page)
 * print `message` as is; `code` lets tests and UI tell the faults apart without parsing prose.
 */
export type EngineErrorCode =
  | 'checkpoint-truncated'
  | 'checkpoint-padded'
  | 'checkpoint-magic'
  | 'checkpoint-version'
  | 'checkpoint-dims'
  | 'tokenizer-format'
  | 'tokenizer-mismatch'
  | 'backend-unavailable'
  | 'gguf-format'
  | 'gguf-unsupported'
  | 'weights-incomplete'
  | 'out-of-memory'
  | 'bad-argument'
  | 'aborted';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
  }
}

/** "file.bin: <what>: expected X, got Y" — the shape every validation message follows. */
export function mismatch(
  code: EngineErrorCode,
  file: string,
  what: string,
  expected: string | number,
  actual: string | number,
): EngineError {
  return new EngineError(code, `${file}: ${what}: expected ${expected}, got ${actual}`);
}

/** Readable text of any failure: EngineError messages are already written for people. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
