/**
 * Typed client of the Forewarn HTTP API (described by GET /api/openapi.json), same origin, relative URLs.
 * Payload types come from contract.gen.ts; only the API's own wrappers are declared here.
 */
import { parseDrift } from '../state/drift';
import { markReadsNeedToken, storedCredentials } from './auth';
import type { Alert, Prediction, Profile } from './contract.gen';
import type { VerdictKind, Verdict, MaintenanceAction, MaintenanceEntry, Snooze, MaintenanceWindow, QualityReport } from './feedback';

export type { Alert, Prediction, Profile } from './contract.gen';
export type * from './feedback';
export type PredictionStatus = Prediction['status'];

/** An alert as the API stores it: the contract Alert plus acknowledgement fields. */
export interface AlertView extends Alert {
  acked_by: string | null;
  acked_at: string | null;
  cleared_at: string | null;
}

export interface MachineSummary {
  machine_id: string;
  /** The machine's profile (what it measures and how it fails); null before its first reading. */
  profile: string | null;
  online: boolean;
  status: PredictionStatus | null;
  last_seen: string | null;
  latest: Prediction | null;
  open_alerts: AlertView[];
  counts: { readings: number; predictive: number; failure: number };
  threshold: number | null;
}

export interface StatusCounts {
  normal: number;
  predictive: number;
  failure: number;
  offline: number;
  online: number;
}

export interface MachinesResponse {
  machines: MachineSummary[];
  counts: StatusCounts;
}

/** A reading, or the bucket it stands for: the numbers of its profile's fields (means for a bucket). */
export interface HistoryPoint {
  ts: string;
  values: Readonly<Record<string, number | string | undefined>>;
  failure_probability: number | null;
  status: PredictionStatus;
  /** A RUL model's remaining useful life and its interval (bucket means); absent or null otherwise. */
  rul?: number | null;
  rul_low?: number | null;
  rul_high?: number | null;
  /** An anomaly detector's score (a bucket's highest); absent or null otherwise. */
  anomaly_score?: number | null;
}

export interface HistoryResponse {
  machine_id: string;
  threshold: number | null;
  downsampled: boolean;
  points: HistoryPoint[];
}

export interface LogResponse {
  items: Prediction[];
  next_cursor: string | null;
}

export interface AlertsResponse {
  alerts: AlertView[];
}

export interface ProfilesResponse {
  profiles: Profile[];
}

export interface HealthResponse {
  status: 'ok' | 'degraded';
  broker_connected: boolean;
  database: boolean;
  ingest_lag_s: number | null;
  version: string;
}

export type DriftLevel = 'stable' | 'moderate' | 'significant';

/** One sensor's population stability index against the training data (model/drift.py). */
export interface DriftFeature {
  feature: string;
  psi: number;
  level: DriftLevel;
}

/** GET /api/drift (DriftResponse in api/openapi_schemas.py); machine_id null = every machine of the profile. */
export interface DriftResponse {
  model_version: string | null;
  machine_id: string | null;
  profile: string | null;
  /** Readings compared. */
  window: number;
  /** Why there is no report, if there is none. */
  reason: string | null;
  features: DriftFeature[];
}

/** A model version as GET /api/models shows it, from its card (ModelVersion in api/openapi_schemas.py). */
export interface ModelVersion {
  version: string;
  created_at: string | null;
  threshold: number | null;
  /** "files" (python -m training) or "history" (python -m training --from-history). */
  source: string | null;
  validation: { precision: number | null; recall: number | null; f1: number | null } | null;
  /** Labelled readings per source, for a model trained from history. */
  labels: Record<string, number> | null;
}

/** A profile's champion (alerts), challenger (shadow) and previous champion (rollback target). */
export interface ModelRoles {
  profile: string;
  champion: ModelVersion | null;
  challenger: ModelVersion | null;
  previous: ModelVersion | null;
}

export interface ModelFigures {
  version: string;
  labelled: number;
  failures: number;
  flagged: number;
  alerts: number;
  alerts_per_machine_day: number;
  ms_per_reading: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

/** GET /api/models/{profile}/comparison: champion against challenger on the readings both scored. */
export interface Comparison {
  profile: string;
  readings: number;
  machines: number;
  machine_days: number;
  champion: ModelFigures;
  challenger: ModelFigures;
  agreement: number | null;
  champion_only: number;
  challenger_only: number;
  label_sources: Record<string, number>;
}

export interface ComparisonResponse {
  profile: string;
  comparison: Comparison | null;
  reason: string | null;
}

export interface ModelMove {
  profile: string;
  action: 'promoted' | 'rolled back';
  before: string | null;
  after: string;
}

/** Data of the SSE `status` event (not the MQTT Status payload). */
export interface StatusEvent {
  machine_id: string;
  online: boolean;
  ts: string;
}

/** A failed API call: HTTP status (0 for a network error) and the API's message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function errorBody(body: unknown): { error: string | null; field: string | null } {
  if (typeof body !== 'object' || body === null) return { error: null, field: null };
  const record = body as Record<string, unknown>;
  return {
    error: typeof record.error === 'string' ? record.error : null,
    field: typeof record.field === 'string' ? record.field : null,
  };
}

function readHeaders(): Record<string, string> {
  const credentials = storedCredentials();
  return credentials ? { Accept: 'application/json', Authorization: `Bearer ${credentials.token}` } : { Accept: 'application/json' };
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { headers: readHeaders(), ...init });
  } catch {
    throw new ApiError('The API cannot be reached — is forewarn-api running?', 0);
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const { error, field } = errorBody(body);
    if (response.status === 401 && (init?.method ?? 'GET') === 'GET') {
      markReadsNeedToken();
      throw new ApiError(`This API needs a token to be read (${error ?? 'unauthorized'})`, 401, field);
    }
    throw new ApiError(error ?? `${response.status} ${response.statusText}`, response.status, field);
  }
  return body as T;
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const enc = encodeURIComponent;

function write<T>(path: string, token: string, body: unknown): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/** Readings a drift report compares with the training data. */
export const DRIFT_LIMIT = 1000;

export const api = {
  health: () => request<HealthResponse>('api/health'),
  machines: () => request<MachinesResponse>('api/machines'),
  machine: (id: string) => request<MachineSummary>(`api/machines/${enc(id)}`),
  history: (id: string, params: { since?: string; until?: string; limit?: number }) =>
    request<HistoryResponse>(`api/machines/${enc(id)}/history${query(params)}`),
  /** `search` is built by state/logQuery.ts so the CSV export uses the very same filters. */
  log: (search: string) => request<LogResponse>(`api/log${search}`),
  reading: (machine: string, readingId: string) =>
    request<Prediction>(`api/readings/${enc(machine)}/${enc(readingId)}`),
  /** Drift of one machine's latest `limit` readings, or of a profile's machines when `machine` is omitted. */
  drift: (machine?: string, profile?: string, limit = DRIFT_LIMIT) =>
    request<unknown>(`api/drift${query({ machine, profile, limit })}`).then(parseDrift),
  profiles: () => request<ProfilesResponse>('api/profiles'),
  alerts: (state: 'open' | 'cleared' | 'all' = 'all', machine?: string) =>
    request<AlertsResponse>(`api/alerts${query({ state, machine })}`),
  models: () => request<{ models: ModelRoles[] }>('api/models'),
  comparison: (profile: string) => request<ComparisonResponse>(`api/models/${enc(profile)}/comparison`),
  /** Promote the challenger or roll back (a write: needs the token). */
  moveModel: (profile: string, move: 'promote' | 'rollback', token: string) =>
    request<ModelMove>(`api/models/${enc(profile)}/${move}`, {
      method: 'POST',
      headers: { Accept: 'application/json', Authorization: `Bearer ${token}` },
    }),
  ack: (alertId: string, token: string, by: string) =>
    request<AlertView>(`api/alerts/${enc(alertId)}/ack`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ by }),
    }),
  verdicts: (machine?: string) => request<{ verdicts: Verdict[] }>(`api/verdicts${query({ machine })}`),
  giveVerdict: (alertId: string, verdict: VerdictKind, token: string, by: string) =>
    write<Verdict>(`api/alerts/${enc(alertId)}/verdict`, token, { verdict, by }),
  maintenance: (machine?: string) =>
    request<{ maintenance: MaintenanceEntry[] }>(`api/maintenance${query({ machine })}`),
  logMaintenance: (entry: { machine_id: string; action: MaintenanceAction; note?: string }, token: string, by: string) =>
    write<MaintenanceEntry>('api/maintenance', token, { ...entry, by }),
  quality: () => request<QualityReport>('api/alerts/quality'),
  snoozes: () => request<{ snoozes: Snooze[] }>('api/snoozes'),
  snooze: (target: { machine_id: string } | { alert_id: string }, minutes: number, token: string, by: string) =>
    write<Snooze>('api/snoozes', token, { ...target, minutes, by }),
  windows: () => request<{ windows: MaintenanceWindow[] }>('api/maintenance-windows'),
  addWindow: (window: { machine_id: string; start: string; end: string; note?: string }, token: string, by: string) =>
    write<MaintenanceWindow>('api/maintenance-windows', token, { ...window, by }),
  remove: (what: 'snoozes' | 'maintenance-windows', id: number, token: string) =>
    request<{ deleted: number }>(`api/${what}/${id}`, {
      method: 'DELETE',
      headers: { Accept: 'application/json', Authorization: `Bearer ${token}` },
    }),
};

export const VERDICTS_CSV_URL = 'api/verdicts.csv';

export const EVENTS_URL = 'api/events';
export const EXPORT_CSV_URL = 'api/export.csv';
