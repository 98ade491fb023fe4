/**
 * Task name → its implementation, imported on first use so the worker's start-up bundle does not
 * carry every explorer (training pulls in the gradient registry, for one).
 */
import type { TaskContext, TaskOutput } from './context.ts';
import type { TaskArgs, TaskName, TaskProgress, TaskResult } from './types.ts';

type Runner<N extends TaskName> = (ctx: TaskContext<TaskProgress<N>>, args: TaskArgs<N>) => Promise<TaskOutput<TaskResult<N>>>;

export const TASKS: { [N in TaskName]: () => Promise<Runner<N>> } = {
  count: async () => (await import('./count.ts')).count,
  'kv-variant': async () => (await import('./kv-variant.ts')).kvVariant,
  'kv-uptrain': async () => (await import('./kv-uptrain.ts')).kvUptrain,
};
