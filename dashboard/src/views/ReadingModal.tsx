/** The full reading, its prediction and its explanation (when the model gave one). */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { AlertView, Prediction, Profile, VerdictKind } from '../api/client';
import { api } from '../api/client';
import { useTokenGuard } from '../components/useTokenGuard';
import { Modal } from '../components/Modal';
import { StatusPill } from '../components/StatusPill';
import { useProfile } from '../live/profiles';
import { parseExplanation } from '../state/explanation';
import { formatDateTime, formatNumber, formatPercent } from '../state/format';
import { formatScore, isAnomalous, rulInterval, rulText } from '../state/modelKind';
import { allFields, labelWithUnit, modeNames } from '../state/profiles';
import { VerdictControl } from './AlertList';
import { ExplanationView } from './ExplanationView';
import { useVerdicts } from './useVerdicts';

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** Prefer the full reading from /api/readings (it carries the explanation); fall back to the row. */
function useFullReading(row: Prediction): { reading: Prediction; note: string | null } {
  const [full, setFull] = useState<Prediction | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    api.reading(row.machine_id, row.reading_id).then(
      (reading) => !cancelled && setFull(reading),
      (err: unknown) => !cancelled && setNote(`Showing the log's copy (${err instanceof Error ? err.message : String(err)}).`),
    );
    return () => {
      cancelled = true;
    };
  }, [row.machine_id, row.reading_id]);
  return { reading: full ?? row, note };
}

/** The reading's values: its profile's fields in order, then any value the profile does not declare. */
function Values({ reading, profile }: { reading: Prediction; profile: Profile | undefined }) {
  const fields = allFields(profile);
  const extra = Object.keys(reading.values).filter((name) => !fields.some((f) => f.name === name));
  return (
    <>
      {fields.map((f) => {
        const value = reading.values[f.name];
        const shown = typeof value === 'number' ? formatNumber(value, f.decimals) : (value ?? '—');
        return (
          <Field key={f.name} label={labelWithUnit(f)}>
            <span data-testid={`reading-value-${f.name}`}>{shown}</span>
          </Field>
        );
      })}
      {extra.map((name) => (
        <Field key={name} label={name}>
          <span data-testid={`reading-value-${name}`}>{String(reading.values[name] ?? '—')}</span>
        </Field>
      ))}
    </>
  );
}

/** The model's figures for this reading, as its kind gives them. */
function ModelFields({ reading, modes }: { reading: Prediction; modes: Readonly<Record<string, string>> }) {
  if (reading.model_kind === 'rul') {
    const unit = reading.rul_unit ?? '';
    return (
      <>
        <Field label="Remaining useful life">
          {rulText(reading.rul, unit)} {rulInterval(reading.rul_low, reading.rul_high)}
        </Field>
        <Field label="Horizon">{rulText(reading.rul_horizon, unit)}</Field>
      </>
    );
  }
  if (reading.model_kind === 'anomaly') {
    return (
      <>
        <Field label="Anomaly score">{formatScore(reading.anomaly_score)}</Field>
        <Field label="Anomaly threshold">{formatScore(reading.anomaly_threshold)}</Field>
        <Field label="Meaning">{isAnomalous(reading) ? 'a deviation from normal behaviour (no failure labels)' : 'within normal behaviour'}</Field>
      </>
    );
  }
  return (
    <>
      <Field label="Failure probability">{formatPercent(reading.failure_probability)}</Field>
      <Field label="Threshold">{formatPercent(reading.threshold)}</Field>
      <Field label="Predicted mode">
        {reading.predicted_mode ? `${modes[reading.predicted_mode] ?? reading.predicted_mode} (${reading.predicted_mode})` : '—'}
      </Field>
    </>
  );
}

export function ReadingDetails({ reading, profile }: { reading: Prediction; profile?: Profile | undefined }) {
  const explanation = parseExplanation(reading.explanation);
  const modes = modeNames(profile);
  return (
    <>
      <h3 className="section-title">Reading</h3>
      <dl className="fields">
        <Field label="Reading id">{reading.reading_id}</Field>
        <Field label="Machine">{reading.machine_id}</Field>
        <Field label="Time">{formatDateTime(reading.ts)}</Field>
        <Field label="Profile">{profile?.name ?? reading.profile}</Field>
        <Values reading={reading} profile={profile} />
        <Field label="Reported failure">
          {reading.failure === null ? '—' : reading.failure ? `yes${reading.failure_description ? ` — ${reading.failure_description}` : ''}` : 'no'}
        </Field>
      </dl>
      <h3 className="section-title">Prediction</h3>
      <dl className="fields">
        <Field label="Status">
          <StatusPill status={reading.status} kind={reading.model_kind} />
        </Field>
        <ModelFields reading={reading} modes={modes} />
        <Field label="Model version">{reading.model_version ?? '—'}</Field>
        <Field label="Scored at">{formatDateTime(reading.scored_at)}</Field>
      </dl>
      <h3 className="section-title">Explanation</h3>
      {explanation ? (
        <ExplanationView explanation={explanation} profile={profile} kind={reading.model_kind} />
      ) : (
        <p className="muted" data-testid="no-explanation">
          The model gave no explanation for this reading.
        </p>
      )}
    </>
  );
}

/** The alerts this reading opened, each with its verdict control (shown only when there are some). */
function ReadingAlerts({ row }: { row: Prediction }) {
  const [alerts, setAlerts] = useState<AlertView[]>([]);
  useEffect(() => {
    let cancelled = false;
    api.alerts('all', row.machine_id).then(
      (response) => {
        const found: unknown = response.alerts;
        if (!cancelled && Array.isArray(found)) setAlerts((found as AlertView[]).filter((a) => a.reading_id === row.reading_id));
      },
      () => undefined, // the reading still shows
    );
    return () => {
      cancelled = true;
    };
  }, [row.machine_id, row.reading_id]);
  return alerts.length > 0 ? <AlertVerdicts alerts={alerts} machine={row.machine_id} /> : null;
}

function AlertVerdicts({ alerts, machine }: { alerts: AlertView[]; machine: string }) {
  const { verdicts, put } = useVerdicts(machine);
  const guard = useTokenGuard('record the verdict');
  const give = (alert: AlertView, verdict: VerdictKind) =>
    guard.run(async ({ token, by }) => put(await api.giveVerdict(alert.alert_id, verdict, token, by)));
  return (
    <section data-testid="reading-alerts">
      <h3 className="section-title">Alert opened by this reading</h3>
      {alerts.map((alert) => (
        <p key={alert.alert_id} data-testid="reading-alert" data-alert-id={alert.alert_id}>
          {alert.message}{' '}
          <VerdictControl alert={alert} verdict={verdicts.get(alert.alert_id)} onVerdict={(v) => give(alert, v)} />
        </p>
      ))}
      {guard.error && (
        <p className="form-error" role="alert">
          {guard.error}
        </p>
      )}
      {guard.dialog}
    </section>
  );
}

export function ReadingModal({ row, onClose }: { row: Prediction; onClose: () => void }) {
  const { reading, note } = useFullReading(row);
  const profile = useProfile(reading.profile);
  const mayHaveAlert = row.status === 'predictive' || row.status === 'failure' || Boolean(row.explanation);
  return (
    <Modal title={`Reading ${row.reading_id}`} onClose={onClose} testId="reading-modal" wide>
      {note && <p className="muted">{note}</p>}
      {mayHaveAlert && <ReadingAlerts row={row} />}
      <ReadingDetails reading={reading} profile={profile} />
    </Modal>
  );
}
