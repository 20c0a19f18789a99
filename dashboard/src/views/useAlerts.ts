/** Alerts of one machine or all: fetched once, then kept current by live alert events. */
import { useCallback, useEffect, useState } from 'react';
import type { AlertView } from '../api/client';
import { ApiError, api } from '../api/client';
import { useLiveBatches } from '../live/hooks';
import { mergeAlerts } from '../state/alerts';
import type { LiveEvent } from '../state/live';

export type AlertsLoad = { phase: 'loading' } | { phase: 'ready' } | { phase: 'error'; message: string; status: number };

export function useAlerts(machine?: string) {
  const [alerts, setAlerts] = useState<AlertView[]>([]);
  const [attempt, setAttempt] = useState(0);
  const key = `${machine ?? '*'}|${attempt}`;
  const [result, setResult] = useState<{ key: string; load: AlertsLoad } | null>(null);

  useEffect(() => {
    let cancelled = false;
    api.alerts('all', machine).then(
      (response) => {
        if (cancelled) return;
        setAlerts((current) => mergeAlerts(response.alerts, current));
        setResult({ key, load: { phase: 'ready' } });
      },
      (err: unknown) => {
        const message = err instanceof ApiError ? err.message : String(err);
        const status = err instanceof ApiError ? err.status : 0;
        if (!cancelled) setResult({ key, load: { phase: 'error', message, status } });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [machine, key]);

  const onBatch = useCallback(
    (events: readonly LiveEvent[]) => {
      const updates: AlertView[] = [];
      for (const e of events) {
        if (e.kind === 'alert' && (machine === undefined || e.data.machine_id === machine)) updates.push(e.data);
      }
      if (updates.length > 0) setAlerts((current) => mergeAlerts(current, updates));
    },
    [machine],
  );
  useLiveBatches(onBatch);

  const replace = useCallback((alert: AlertView) => setAlerts((current) => mergeAlerts(current, [alert])), []);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  const load: AlertsLoad = result?.key === key ? result.load : { phase: 'loading' };
  return { alerts, load, replace, retry };
}
