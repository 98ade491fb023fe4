import type { TaskArgs, TaskProgress, TaskResult } from './types.ts';
import type { TaskContext, TaskOutput } from './context.ts';
import { measureKvVariant } from '../../engine/kv-variant.ts';

/**
 * Chapter 4's conversion explorer: one pooled variant of the loaded model per request, measured
 * story by story (the page sends the next kv-head count when this one is done, so other widgets
 * get the worker in between).
 */
export async function kvVariant(
  ctx: TaskContext<TaskProgress<'kv-variant'>>,
  args: TaskArgs<'kv-variant'>,
): Promise<TaskOutput<TaskResult<'kv-variant'>>> {
  const measured = await measureKvVariant(ctx.model(), args.kvHeads, {
    stories: args.stories,
    prompt: args.prompt,
    steps: args.steps,
    signal: ctx.signal,
    pause: () => ctx.pause(),
    onProgress: (storiesDone, stories) => ctx.progress({ kvHeads: args.kvHeads, storiesDone, stories }),
  });
  return { result: measured };
}
