import type { TaskArgs, TaskProgress, TaskResult } from './types.ts';
import type { TaskContext, TaskOutput } from './context.ts';

export async function count(ctx: TaskContext<TaskProgress<'count'>>, { n }: TaskArgs<'count'>): Promise<TaskOutput<TaskResult<'count'>>> {
  let counted = 0;
  while (counted < n && !ctx.signal.aborted) {
    ctx.progress(++counted);
    await ctx.pause();
  }
  return { result: { counted } };
}
