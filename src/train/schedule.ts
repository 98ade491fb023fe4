/**
 * The paper's learning-rate schedule (§2.2): linear warmup, then cosine decay down to 10% of the
 * peak rate at the last step.
 */
export interface ScheduleOptions {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** The final rate as a fraction of the peak (0.1 in the paper). */
  floor?: number;
}

export function learningRate(step: number, o: ScheduleOptions): number {
  const floor = (o.floor ?? 0.1) * o.peak;
  if (step < o.warmupSteps) return (o.peak * (step + 1)) / o.warmupSteps;
  const decaySteps = Math.max(1, o.totalSteps - 1 - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / decaySteps);
  return floor + 0.5 * (o.peak - floor) * (1 + Math.cos(Math.PI * progress));
}
