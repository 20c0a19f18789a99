/**
 * The API's feedback payloads: verdicts, the maintenance log, snoozes, maintenance windows and
 * alert quality (/api/verdicts, /api/maintenance, /api/snoozes, /api/maintenance-windows,
 * /api/alerts/quality). Re-exported by client.ts.
 */
export type VerdictKind = 'real_failure' | 'false_alarm' | 'planned_maintenance' | 'unsure';

/** One verdict on an alert (GET /api/verdicts): the latest of an alert is its verdict. */
export interface Verdict {
  id: number;
  alert_id: string;
  machine_id: string;
  profile: string | null;
  kind: string;
  verdict: VerdictKind;
  mode: string | null;
  note: string | null;
  by: string | null;
  at: string;
  model_version: string | null;
  alert_opened_at: string;
}

export type MaintenanceAction = 'tool_replaced' | 'repaired' | 'inspected' | 'other';

/** One entry of the maintenance log (GET /api/maintenance). */
export interface MaintenanceEntry {
  id: number;
  machine_id: string;
  action: MaintenanceAction;
  at: string;
  note: string | null;
  by: string | null;
  recorded_at: string;
}

/** A snooze (GET /api/snoozes): a machine's alerts, or one alert, recorded but not notified until `until`. */
export interface Snooze {
  id: number;
  machine_id: string | null;
  alert_id: string | null;
  until: string;
  note: string | null;
  by: string | null;
  created_at: string;
}

/** A maintenance window (GET /api/maintenance-windows): the machine's alerts in it are not notified. */
export interface MaintenanceWindow {
  id: number;
  machine_id: string;
  start: string;
  end: string;
  note: string | null;
  by: string | null;
  created_at: string;
}

export interface FalseAlarmRate {
  judged: number;
  false_alarms: number;
  rate: number | null;
}

/** GET /api/alerts/quality (QualityReport in api/openapi_schemas.py). */
export interface QualityReport {
  days: number;
  machines: number;
  alerts: number;
  alerts_per_machine_day: number;
  acknowledged: number;
  time_to_acknowledge_s: { median: number | null; mean: number | null };
  with_verdict: number;
  verdict_share: number | null;
  verdicts: Record<string, number>;
  false_alarm_rate: {
    overall: FalseAlarmRate;
    by_mode: Record<string, FalseAlarmRate>;
    by_rule: Record<string, FalseAlarmRate>;
    by_model_version: Record<string, FalseAlarmRate>;
  };
  noisiest_machines: { machine_id: string; alerts: number; per_day: number; false_alarms: number }[];
}
