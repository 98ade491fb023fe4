/**
 * Preact glue: the page's engine and its status, for widgets. The engine is reached only in an
 * effect, so the server-side render (Astro renders islands to HTML first) never starts a worker.
 */
import { useEffect, useState } from 'preact/hooks';
import { getEngine, type EngineClient, type EngineStatus } from './engine-client.ts';

export const IDLE_STATUS: EngineStatus = { state: 'idle', backend: null, backendReasons: [], model: null, progress: null, error: null };

export function useEngine(): { engine: EngineClient | null; status: EngineStatus } {
  const [engine, setEngine] = useState<EngineClient | null>(null);
  const [status, setStatus] = useState<EngineStatus>(IDLE_STATUS);
  useEffect(() => {
    const e = getEngine();
    setEngine(e);
    return e.subscribe(setStatus);
  }, []);
  return { engine, status };
}
