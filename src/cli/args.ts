import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '../engine/errors.ts';
import type { QuantFormat } from '../engine/quant/blocks.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict option parsing: an unknown or malformed option is a one-line error, not a stack trace. */
export function parseOptions<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new EngineError('bad-argument', (e as Error).message);
  }
}

export function requireOption(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new EngineError('bad-argument', `--${name} is required`);
  return value;
}

/** A finite number in [min, max], with the option named in the error. */
export function numberOption(value: string | undefined, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new EngineError('bad-argument', `--${name}: expected a number in [${min}, ${max}], got "${value}"`);
  return n;
}

export function integerOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback; // may be Infinity ("no limit")
  const n = numberOption(value, name, fallback, min);
  if (!Number.isInteger(n)) throw new EngineError('bad-argument', `--${name}: expected an integer, got "${value}"`);
  return n;
}

/** --quant: the format to hold the matrices in; f32 (the default) leaves them as the file has them. */
export function quantOption(value: string | undefined): QuantFormat | undefined {
  if (value === undefined || value === 'f32') return undefined;
  if (value === 'q8_0' || value === 'q4_0') return value;
  throw new EngineError('bad-argument', `--quant: expected f32, q8_0 or q4_0, got "${value}"`);
}
