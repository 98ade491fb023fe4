import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { parityCases, sharedPath, STORIES260K, TOK512, VALID_STORIES } from '../support/shared.ts';

const model = sharedPath(STORIES260K);
const tokenizer = sharedPath(TOK512);

/** A failure is one line on stderr, no stack trace, and a non-zero exit. */
function expectCleanFailure(r: ReturnType<typeof runCli>, fragment: string) {
  expect(r.status).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toContain(fragment);
  expect(r.stderr).not.toMatch(/\s+at .+:\d+:\d+/);
}

describe('command line', () => {
  it('generate --json gives the reference tokens for a public parity case', () => {
    const c = parityCases().find((p) => p.prompt === 'The little bird')!;
    const r = runCli(['generate', '--model', model, '--tokenizer', tokenizer, '--prompt', c.prompt, '--temperature', String(c.temperature), '--top-p', String(c.top_p), '--seed', String(c.seed), '--steps', String(c.steps), '--backend', 'wasm', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tokens).toEqual(c.expected_tokens);
    expect(out.backend).toBe('wasm');
    expect(out.tokensPerSecond).toBeGreaterThan(0);
    expect(`${out.text}\n`).toBe(c.reference_stdout);
  });

  it('eval --quant runs the model quantized and names the format', () => {
    const text = sharedPath(VALID_STORIES);
    const r = runCli(['eval', '--model', model, '--tokenizer', tokenizer, '--text', text, '--stories', '2', '--quant', 'q4_0', '--backend', 'cpu']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^weights q4_0, [\d.]+ MiB on the backend\nstories 2, predicted tokens \d+, bytes \d+\nmean NLL [\d.]+ nats\/token, [\d.]+ bits\/byte\n$/);
  });

  it('convert writes a GGUF that generate runs with its own tokenizer, to the same tokens as the .bin; a separate tokenizer is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gguf-cli-'));
    const gguf = join(dir, 'stories260K.gguf');
    const c = runCli(['convert', '--model', model, '--tokenizer', tokenizer, '--out', gguf, '--type', 'f32']);
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(/stories260K\.gguf: GGUF v3, matrices f32, /);
    const args = ['--prompt', 'Once upon', '--temperature', '0', '--steps', '24', '--backend', 'cpu', '--json'];
    const fromBin = JSON.parse(runCli(['generate', '--model', model, '--tokenizer', tokenizer, ...args]).stdout);
    const fromGguf = JSON.parse(runCli(['generate', '--model', gguf, ...args]).stdout);
    expect(fromGguf.tokens).toEqual(fromBin.tokens);
    expectCleanFailure(runCli(['generate', '--model', gguf, '--tokenizer', tokenizer, '--steps', '2']), 'carries its own tokenizer');
    expectCleanFailure(runCli(['generate', '--model', model, '--steps', '2']), '--tokenizer is required');
    // --chat wraps the prompt in the Llama 2-Chat format: its tokens open the output.
    const chat = JSON.parse(runCli(['generate', '--model', gguf, '--chat', '--system', 'Be kind.', '--prompt', 'Hi', '--steps', '60', '--temperature', '0', '--backend', 'cpu', '--json']).stdout);
    expect(chat.text.startsWith('[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nHi [/INST]')).toBe(true);
    expectCleanFailure(runCli(['generate', '--model', gguf, '--system', 'x', '--steps', '2']), '--system needs --chat');
    rmSync(dir, { recursive: true });
  });

  it('presets prints the Llama 2 family with exact parameter counts', () => {
    const r = runCli(['presets', '--json']);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as { id: string; parameters: number; kvBytesPerToken: number }[];
    expect(rows.find((p) => p.id === 'llama2-70b')).toMatchObject({ parameters: 68_976_648_192, kvBytesPerToken: 327_680 });
  });

  it('inspect reports config, parameters and memory by tensor', () => {
    const r = runCli(['inspect', '--model', model, '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.parameters.total).toBe(260_032);
    expect(out.tensors.reduce((n: number, t: { bytes: number }) => n + t.bytes, 0)).toBe(260_032 * 4);
  });

  it.each([
    [['generate', '--tokenizer', tokenizer], '--model is required'],
    [['generate', '--model', '/nonexistent/model.bin', '--tokenizer', tokenizer], 'no such file'],
    [['generate', '--model', model, '--tokenizer', tokenizer, '--temperature', 'hot'], '--temperature'],
    [['generate', '--model', model, '--tokenizer', tokenizer, '--backend', 'tpu'], '--backend'],
    [['generate', '--model', tokenizer, '--tokenizer', tokenizer], 'not a llama2.c checkpoint'],
    [['generate', '--model', model, '--tokenizer', sharedPath('models/llama2-tokenizer/tokenizer.bin')], 'vocabulary size'],
    [['generate', '--model', model, '--tokenizer', tokenizer, '--frobnicate'], 'frobnicate'],
    [['eval', '--model', model, '--tokenizer', tokenizer], '--text is required'],
    [['eval', '--model', model, '--tokenizer', tokenizer, '--text', model, '--quant', 'q5'], '--quant: expected f32, q8_0 or q4_0, got "q5"'],
    [['frobnicate'], 'unknown command'],
  ])('%j fails with one clear line', (args, fragment) => {
    expectCleanFailure(runCli(args), fragment);
  });
});
