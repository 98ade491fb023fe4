import type { EngineStatus } from '../../src/client/engine-client.ts';
import { formatBytes } from './calculator/format.ts';

/**
 * One line on what the page's engine is doing, for a widget's status row: starting, loading (with
 * bytes), failed, busy with the widget's own work (`busy`, e.g. "Running the forward pass"), or
 * ready with the model and backend.
 */
export function engineStatusLine(status: EngineStatus | null, busy: string | null): string {
  if (!status || status.state === 'idle') return 'Starting the engine…';
  if (status.state === 'loading') {
    const p = status.progress;
    if (!p) return 'Loading the model…';
    return `Loading ${p.what}: ${formatBytes(p.loaded)}${p.total ? ` of ${formatBytes(p.total)}` : ''}…`;
  }
  if (status.state === 'error' && !status.model) return `The model could not be loaded: ${status.error ?? 'unknown error'}`;
  const model = status.model ? `${status.model.name} on ${status.backend ?? 'an unknown backend'}` : 'no model';
  return busy ? `${busy} (${model})…` : `Model: ${model}.`;
}
