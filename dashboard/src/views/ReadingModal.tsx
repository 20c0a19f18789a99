/** The full reading, its prediction and its explanation (when the model gave one). */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { Prediction } from '../api/client';
import { SENSOR_FIELDS, api } from '../api/client';
import { Modal } from '../components/Modal';
import { StatusPill } from '../components/StatusPill';
import { parseExplanation } from '../state/explanation';
import { SENSOR_META, formatDateTime, formatNumber, formatPercent } from '../state/format';
import { ExplanationView } from './ExplanationView';

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

export function ReadingDetails({ reading }: { reading: Prediction }) {
  const explanation = parseExplanation(reading.explanation);
  return (
    <>
      <h3 className="section-title">Reading</h3>
      <dl className="fields">
        <Field label="Reading id">{reading.reading_id}</Field>
        <Field label="Machine">{reading.machine_id}</Field>
        <Field label="Time">{formatDateTime(reading.ts)}</Field>
        <Field label="Type">{reading.type}</Field>
        <Field label="Product">{reading.product_id ?? '—'}</Field>
        {SENSOR_FIELDS.map((f) => (
          <Field key={f} label={`${SENSOR_META[f].label} (${SENSOR_META[f].unit})`}>
            {formatNumber(reading[f], SENSOR_META[f].digits)}
          </Field>
        ))}
        <Field label="Reported failure">
          {reading.failure === null ? '—' : reading.failure ? `yes${reading.failure_description ? ` — ${reading.failure_description}` : ''}` : 'no'}
        </Field>
      </dl>
      <h3 className="section-title">Prediction</h3>
      <dl className="fields">
        <Field label="Status">
          <StatusPill status={reading.status} />
        </Field>
        <Field label="Failure probability">{formatPercent(reading.failure_probability)}</Field>
        <Field label="Threshold">{formatPercent(reading.threshold)}</Field>
        <Field label="Predicted mode">{reading.predicted_mode ?? '—'}</Field>
        <Field label="Model version">{reading.model_version}</Field>
        <Field label="Scored at">{formatDateTime(reading.scored_at)}</Field>
      </dl>
      <h3 className="section-title">Explanation</h3>
      {explanation ? (
        <ExplanationView explanation={explanation} />
      ) : (
        <p className="muted" data-testid="no-explanation">
          The model gave no explanation for this reading.
        </p>
      )}
    </>
  );
}

export function ReadingModal({ row, onClose }: { row: Prediction; onClose: () => void }) {
  const { reading, note } = useFullReading(row);
  return (
    <Modal title={`Reading ${row.reading_id}`} onClose={onClose} testId="reading-modal" wide>
      {note && <p className="muted">{note}</p>}
      <ReadingDetails reading={reading} />
    </Modal>
  );
}
