import { EngineError } from '../engine/errors.ts';
import { USAGE } from './usage.ts';

// Commands load on demand: `train` pulls in the gradient registry, the others should not pay for it.
const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; usage: string }> = {
  generate: { run: async (a) => (await import('./commands/generate.ts')).generateCommand(a), usage: USAGE.generate },
  eval: { run: async (a) => (await import('./commands/eval.ts')).evalCommand(a), usage: USAGE.eval },
  convert: { run: async (a) => (await import('./commands/convert.ts')).convertCommand(a), usage: USAGE.convert },
  inspect: { run: async (a) => (await import('./commands/inspect.ts')).inspectCommand(a), usage: USAGE.inspect },
  presets: { run: async (a) => (await import('./commands/presets.ts')).presetsCommand(a), usage: USAGE.presets },
  train: { run: async (a) => (await import('./commands/train.ts')).trainCommand(a), usage: USAGE.train },
  'sample-stories': { run: async (a) => (await import('./commands/sample-stories.ts')).sampleStoriesCommand(a), usage: USAGE['sample-stories'] },
  'publish-model': { run: async (a) => (await import('./commands/publish-model.ts')).publishModelCommand(a), usage: USAGE['publish-model'] },
};

const usage = () => `usage: npm run cli -- <command> [options]\n${Object.values(COMMANDS).map((c) => `  ${c.usage}`).join('\n')}\n`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`error: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see --help)\n`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    // One clear line, never a stack trace: every expected failure is an EngineError.
    const message = e instanceof EngineError ? e.message : `unexpected failure: ${(e as Error).message ?? e}`;
    process.stderr.write(`error: ${message}\n`);
    if (process.env.LLAMA_DEBUG) console.error(e);
    return e instanceof EngineError && e.code === 'bad-argument' ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
