import { EngineError } from '../engine/errors.ts';
import { evalCommand, evalUsage } from './commands/eval.ts';
import { generateCommand, generateUsage } from './commands/generate.ts';
import { inspectCommand, inspectUsage } from './commands/inspect.ts';
import { presetsCommand, presetsUsage } from './commands/presets.ts';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; usage: string }> = {
  generate: { run: generateCommand, usage: generateUsage },
  eval: { run: evalCommand, usage: evalUsage },
  inspect: { run: inspectCommand, usage: inspectUsage },
  presets: { run: presetsCommand, usage: presetsUsage },
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
