/** A machine's chart series: the history window from the API, then live predictions. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { HistoryPoint } from '../api/client';
import { ApiError, api } from '../api/client';
import { useLiveBatches } from '../live/hooks';
import type { LiveEvent } from '../state/live';
import type { ModelColumns, SeriesColumns, WindowKey } from '../state/series';
import { CHART_POINTS, SeriesBuffer, WINDOWS, bucketMsFor } from '../state/series';

export type SeriesLoad =
  | { phase: 'loading' }
  | { phase: 'ready'; downsampled: boolean }
  | { phase: 'error'; message: string; status: number };

interface Loaded {
  key: string; // which request this answers; a stale one reads as loading
  load: SeriesLoad;
  buffer: SeriesBuffer;
  threshold: number | null;
  version: number; // bumped when live points were pushed into the (mutable) buffer
}

const NO_MODEL_COLUMNS: ModelColumns = { rul: [], rulLow: [], rulHigh: [], anomalyScore: [] };

/** Live points enter the buffer at once but redraw the charts at most this often. */
const REDRAW_MS = 250;

function newBuffer(window: WindowKey, fields: readonly string[]): SeriesBuffer {
  return new SeriesBuffer(CHART_POINTS, bucketMsFor(window), WINDOWS[window].ms, fields);
}

/** `fields`: the numeric fields of the machine's profile, charted in this order. */
export function useSeries(machineId: string, window: WindowKey, fields: readonly string[]) {
  const [attempt, setAttempt] = useState(0);
  const fieldsKey = fields.join('\u0000');
  const key = `${machineId}|${window}|${attempt}|${fieldsKey}`;
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  // Mirrors `loaded` for the live callback, which mutates the buffer outside any updater.
  const current = useRef<Loaded | null>(null);
  const commit = useCallback((next: Loaded) => {
    current.current = next;
    setLoaded(next);
  }, []);
  const redraw = useRef<{ at: number; timer: ReturnType<typeof setTimeout> | undefined }>({ at: 0, timer: undefined });
  useEffect(() => () => clearTimeout(redraw.current.timer), []);
  const redrawSoon = useCallback(() => {
    const state = redraw.current;
    if (state.timer !== undefined) return;
    const bump = () => {
      state.timer = undefined;
      state.at = performance.now();
      const now = current.current;
      if (now) commit({ ...now, version: now.version + 1 });
    };
    const wait = state.at + REDRAW_MS - performance.now();
    if (wait <= 0) bump();
    else state.timer = setTimeout(bump, wait);
  }, [commit]);
  // Live points that arrive while the history request is in flight, applied after it.
  const pending = useRef<{ key: string; points: HistoryPoint[] }>({ key: '', points: [] });

  useEffect(() => {
    let cancelled = false;
    pending.current = { key, points: [] };
    const since = new Date(Date.now() - WINDOWS[window].ms).toISOString();
    const done = (patch: Omit<Loaded, 'key' | 'version'>) => {
      if (!cancelled) commit({ key, version: 0, ...patch });
    };
    api.history(machineId, { since, limit: CHART_POINTS }).then(
      (history) => {
        const buffer = newBuffer(window, fieldsKey ? fieldsKey.split('\u0000') : []);
        buffer.pushAll(history.points);
        buffer.pushAll(pending.current.points);
        done({ buffer, threshold: history.threshold, load: { phase: 'ready', downsampled: history.downsampled } });
      },
      (err: unknown) => {
        const status = err instanceof ApiError ? err.status : 0;
        const message = err instanceof Error ? err.message : String(err);
        done({ buffer: newBuffer(window, []), threshold: null, load: { phase: 'error', message, status } });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [machineId, window, key, fieldsKey, commit]);

  const onBatch = useCallback(
    (events: readonly LiveEvent[]) => {
      const points = events.flatMap((e) => (e.kind === 'prediction' && e.data.machine_id === machineId ? [e.data] : []));
      if (points.length === 0) return;
      const now = current.current;
      if (now?.key !== pending.current.key) {
        pending.current.points.push(...points);
        return;
      }
      now.buffer.pushAll(points);
      redrawSoon();
    },
    [machineId, redrawSoon],
  );
  useLiveBatches(onBatch);

  const fresh = loaded?.key === key ? loaded : null;
  const buffer = fresh?.buffer;
  const version = fresh?.version;
  const columns = useMemo<SeriesColumns>(
    () => (buffer && version !== undefined ? buffer.toColumns() : [[], ...fields.map(() => []), []]),
    [buffer, version, fields],
  );
  const model = useMemo<ModelColumns>(
    () => (buffer && version !== undefined ? buffer.toModelColumns() : NO_MODEL_COLUMNS),
    [buffer, version],
  );
  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  const load: SeriesLoad = fresh?.load ?? { phase: 'loading' };
  return { columns, model, load, threshold: fresh?.threshold ?? null, retry };
}
