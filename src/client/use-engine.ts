/**
 * Preact glue: the page's engine and its status, for widgets. The engine is reached only in an
 * effect, so the server-side render (Astro renders islands to HTML first) never starts a worker.
 */
import { useEffect, useState } from 'preact/hooks';
import { getEngine, type EngineClient, type EngineStatus } from './engine-client.ts';
import { messageOf } from '../engine/errors.ts';

export const IDLE_STATUS: EngineStatus = { state: 'idle', backend: null, backendReasons: [], model: null, progress: null, error: null };

/**
 * With `load`, the page's model is loaded as well (the default one unless another is): for widgets
 * that run it as soon as they show. A failed load shows in `status` and, as a message, `loadError`.
 */
export function useEngine({ load = false } = {}): { engine: EngineClient | null; status: EngineStatus; loadError: string | null } {
  const [engine, setEngine] = useState<EngineClient | null>(null);
  const [status, setStatus] = useState<EngineStatus>(IDLE_STATUS);
  const [loadError, setLoadError] = useState<string | null>(null);
  useEffect(() => {
    const e = getEngine();
    setEngine(e);
    const off = e.subscribe(setStatus);
    if (load) e.ensureLoaded().catch((err) => setLoadError(messageOf(err)));
    return off;
  }, []);
  return { engine, status, loadError };
}
