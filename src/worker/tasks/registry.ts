/**
 * Task name → its implementation, imported on first use so the worker's start-up bundle does not
 * carry every explorer (training pulls in the gradient registry, for one).
 */
import type { TaskContext, TaskOutput } from './context.ts';
import type { TaskArgs, TaskName, TaskProgress, TaskResult } from './types.ts';

type Runner<N extends TaskName> = (ctx: TaskContext<TaskProgress<N>>, args: TaskArgs<N>) => Promise<TaskOutput<TaskResult<N>>>;

export const TASKS: { [N in TaskName]: () => Promise<Runner<N>> } = {
  count: async () => (await import('./count.ts')).count,
  'rope-qk': async () => (await import('./rope-qk.ts')).ropeQk,
  'train-start': async () => (await import('./train.ts')).trainStart,
  'train-steps': async () => (await import('./train.ts')).trainSteps,
  'train-sample': async () => (await import('./train.ts')).trainSample,
  'train-stop': async () => (await import('./train.ts')).trainStop,
  'reward-start': async () => (await import('./reward.ts')).rewardStart,
  'reward-encode': async () => (await import('./reward.ts')).rewardEncode,
  'reward-steps': async () => (await import('./reward.ts')).rewardSteps,
  'reward-eval': async () => (await import('./reward.ts')).rewardEval,
  'kv-variant': async () => (await import('./kv-variant.ts')).kvVariant,
  'kv-uptrain': async () => (await import('./kv-uptrain.ts')).kvUptrain,
};
