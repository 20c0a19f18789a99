/**
 * What kind of model scores a machine (its profile's `model.kind`: a failure classifier, a
 * remaining-useful-life regressor or an anomaly detector) and how the views say what it
 * found: "87 cycles left" for a RUL model, "anomaly" for a detector. Pure helpers over the
 * profile and the latest prediction; nothing here knows a machine class or a unit by name.
 */
import type { AlertView, Prediction, PredictionStatus, Profile } from '../api/client';

export type ModelKind = 'classifier' | 'rul' | 'anomaly';

/**
 * The kind of model behind a machine's numbers. The latest prediction names the model that
 * made it; while nothing scored it yet (no prediction, or `unscored` without a kind of its
 * own) the profile says what is coming.
 */
export function modelKindOf(profile: Profile | undefined, latest: Prediction | null | undefined): ModelKind {
  const said = latest?.model_kind;
  if (said && said !== 'classifier') return said;
  if (latest && latest.status !== 'unscored') return 'classifier';
  return profile?.model?.kind ?? 'classifier';
}

/** A RUL model's unit and warning horizon: the prediction's own, else the profile's. */
export interface RulSpec {
  unit: string;
  horizon: number | null;
}

export function rulSpec(profile: Profile | undefined, latest: Prediction | null | undefined): RulSpec {
  const declared = profile?.model?.rul;
  return {
    unit: latest?.rul_unit ?? declared?.unit ?? '',
    horizon: latest?.rul_horizon ?? declared?.horizon ?? null,
  };
}

/** "87" (whole units: a remaining life is not known to the decimal); '—' when unknown. */
export function formatRul(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.round(value)).toLocaleString('en') : '—';
}

/** "87 cycles" (the unit as the profile spells it). */
export function rulText(value: number | null | undefined, unit: string): string {
  const number = formatRul(value);
  return number === '—' || !unit ? number : `${number} ${unit}`;
}

/** "(80–95)": the interval of a RUL, empty when the prediction gives none. */
export function rulInterval(low: number | null | undefined, high: number | null | undefined): string {
  return typeof low === 'number' && typeof high === 'number' ? `(${formatRul(low)}–${formatRul(high)})` : '';
}

/** An anomaly score as shown next to its threshold (3 significant digits). */
export function formatScore(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en') : value.toPrecision(3);
}

/** Whether a prediction's anomaly score is above its threshold. */
export function isAnomalous(prediction: Pick<Prediction, 'anomaly_score' | 'anomaly_threshold'> | null | undefined): boolean {
  const score = prediction?.anomaly_score;
  const threshold = prediction?.anomaly_threshold;
  return typeof score === 'number' && typeof threshold === 'number' && score > threshold;
}

export type BadgeTone = 'rul' | 'rul-near' | 'anomaly';

/** The short badge of a machine's card and list row: "87 cycles left", "anomaly"; null for a classifier. */
export function modelBadge(profile: Profile | undefined, latest: Prediction | null | undefined): { text: string; tone: BadgeTone } | null {
  const kind = modelKindOf(profile, latest);
  if (kind === 'rul' && typeof latest?.rul === 'number') {
    const { unit, horizon } = rulSpec(profile, latest);
    const near = horizon !== null && latest.rul < horizon;
    return { text: `${rulText(latest.rul, unit)} left`, tone: near ? 'rul-near' : 'rul' };
  }
  if (kind === 'anomaly' && isAnomalous(latest)) return { text: 'anomaly', tone: 'anomaly' };
  return null;
}

/** What a status means for this kind of model: `predictive` is a predicted failure, an end of
 *  life within the horizon, or an anomaly. */
export function statusLabel(status: PredictionStatus, kind: ModelKind = 'classifier'): string {
  if (status === 'predictive') return kind === 'rul' ? 'End of life near' : kind === 'anomaly' ? 'Anomaly' : 'Failure predicted';
  return { normal: 'Normal', failure: 'Failure', unscored: 'Not scored' }[status];
}

/** An alert's kind as its label says it. */
export const ALERT_KIND_LABEL: Record<AlertView['kind'], string> = {
  predicted: 'Predicted',
  detected: 'Failure',
  rul: 'End of life',
  anomaly: 'Anomaly',
};

/** What an alert measured: "p = 93 %", "~24 cycles left", "score 7.2 > 4.0". */
export function alertFigure(alert: AlertView, percent: (p: number | null | undefined) => string): string {
  if (alert.kind === 'rul') return `~${rulText(alert.rul, alert.rul_unit ?? '')} left`;
  if (alert.kind === 'anomaly') return `score ${formatScore(alert.anomaly_score)} > ${formatScore(alert.anomaly_threshold)}`;
  return `p = ${percent(alert.failure_probability)}`;
}

/** A prediction's own verdict in a few characters (the log's column): "93 %", "87 cycles left", "score 7.21". */
export function predictionFigure(prediction: Prediction, percent: (p: number | null | undefined) => string): string {
  if (prediction.model_kind === 'rul' && typeof prediction.rul === 'number') return `${rulText(prediction.rul, prediction.rul_unit ?? '')} left`;
  if (prediction.model_kind === 'anomaly' && typeof prediction.anomaly_score === 'number') {
    return `score ${formatScore(prediction.anomaly_score)}${isAnomalous(prediction) ? ' (anomaly)' : ''}`;
  }
  return percent(prediction.failure_probability);
}
