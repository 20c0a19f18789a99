/**
 * Log filters -> query strings for /api/log and /api/export.csv, built in one place so
 * the CSV export always holds exactly what the table shows.
 */
import type { PredictionStatus } from '../api/client';
import { withAccessToken } from '../api/auth';
import { EXPORT_CSV_URL } from '../api/client';

export interface LogFilters {
  status: PredictionStatus | '';
  machine: string;
  /** A profile id: only machines of that class (their values then get a column each). */
  profile: string;
  /** Values of <input type="datetime-local">, in the viewer's local time; '' = open. */
  since: string;
  until: string;
}

export const NO_FILTERS: LogFilters = { status: '', machine: '', profile: '', since: '', until: '' };
export const LOG_PAGE_SIZE = 50;

export type QueryResult = { ok: true; search: string } | { ok: false; error: string; field: keyof LogFilters };

/** A datetime-local value as RFC 3339 UTC, or null when it is not a date. */
export function localInputToUtc(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return null;
  const moment = new Date(value); // no offset in the text: parsed as local time
  return Number.isNaN(moment.getTime()) ? null : moment.toISOString();
}

/** The inverse, for prefilling an input from a timestamp. */
export function utcToLocalInput(iso: string): string {
  const moment = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}` +
    `T${pad(moment.getHours())}:${pad(moment.getMinutes())}`
  );
}

function filterParams(filters: LogFilters): { ok: true; params: URLSearchParams } | Extract<QueryResult, { ok: false }> {
  const params = new URLSearchParams();
  if (filters.status) params.set('status', filters.status);
  const machine = filters.machine.trim();
  if (machine) params.set('machine', machine);
  if (filters.profile) params.set('profile', filters.profile);
  for (const field of ['since', 'until'] as const) {
    if (!filters[field]) continue;
    const utc = localInputToUtc(filters[field]);
    if (utc === null) return { ok: false, error: `"${filters[field]}" is not a date and time`, field };
    params.set(field, utc);
  }
  const since = params.get('since');
  const until = params.get('until');
  if (since && until && Date.parse(since) > Date.parse(until)) {
    return { ok: false, error: '"From" is after "To": swap them or clear one', field: 'until' };
  }
  return { ok: true, params };
}

/** `?status=..&machine=..&profile=..&since=..&until=..&limit=..&cursor=..` for /api/log. */
export function buildLogQuery(filters: LogFilters, cursor: string | null = null, limit = LOG_PAGE_SIZE): QueryResult {
  const built = filterParams(filters);
  if (!built.ok) return built;
  built.params.set('limit', String(limit));
  if (cursor) built.params.set('cursor', cursor);
  return { ok: true, search: `?${built.params.toString()}` };
}

/** Link to /api/export.csv with the same filters (all pages, no cursor). */
export function buildExportHref(filters: LogFilters): string | null {
  const built = filterParams(filters);
  if (!built.ok) return null;
  const text = built.params.toString();
  return withAccessToken(text ? `${EXPORT_CSV_URL}?${text}` : EXPORT_CSV_URL);
}
