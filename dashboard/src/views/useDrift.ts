/**
 * The drift report of one machine or of a profile's machines, fetched now and every DRIFT_REFRESH_MS.
 * Drift moves over hundreds of readings, so it follows a slow timer, not the live events.
 */
import { useCallback, useEffect, useState } from 'react';
import type { DriftResponse } from '../api/client';
import { ApiError, api } from '../api/client';

export const DRIFT_REFRESH_MS = 30_000;

export interface DriftState {
  /** The latest report; kept while a later refresh fails. */
  report: DriftResponse | null;
  /** When `report` arrived (ms). */
  fetchedAt: number | null;
  /** The last request's failure, cleared by the next success. */
  error: { message: string; status: number } | null;
}

const EMPTY: DriftState = { report: null, fetchedAt: null, error: null };

/** One machine's report, or (without `machine`) that of every machine of `profile` (default: the API's default). */
export function useDrift(machine?: string, profile?: string): DriftState & { retry: () => void } {
  const key = `${machine ?? '*'}|${profile ?? '*'}`;
  const [state, setState] = useState<DriftState & { key: string }>({ ...EMPTY, key });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    let inFlight = false; // a slow API gets no second request on top of the first
    const load = async () => {
      if (inFlight) return;
      inFlight = true;
      try {
        const report = await api.drift(machine, profile);
        if (!cancelled) setState({ key, report, fetchedAt: Date.now(), error: null });
      } catch (err: unknown) {
        const error = { message: err instanceof Error ? err.message : String(err), status: err instanceof ApiError ? err.status : 0 };
        if (!cancelled) setState((s) => (s.key === key ? { ...s, error } : { ...EMPTY, key, error }));
      } finally {
        inFlight = false;
      }
    };
    void load();
    const timer = setInterval(() => void load(), DRIFT_REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [machine, profile, key, attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  const current = state.key === key ? state : EMPTY;
  return { report: current.report, fetchedAt: current.fetchedAt, error: current.error, retry };
}
