import type { PredictionStatus } from '../api/client';
import type { ModelKind } from '../state/modelKind';
import { statusLabel } from '../state/modelKind';

export const STATUS_LABEL: Record<PredictionStatus, string> = {
  normal: 'Normal',
  predictive: 'Failure predicted',
  failure: 'Failure',
  unscored: 'Not scored',
};

/** Coloured status label; colour is never the only cue (the text says it too). `kind`: the
 *  model that set the status (a RUL model's or a detector's `predictive` is said their way). */
export function StatusPill({ status, online = true, kind }: { status: PredictionStatus | null; online?: boolean; kind?: ModelKind | undefined }) {
  if (!online) return <span className="pill pill-offline">Offline</span>;
  if (status === null) return <span className="pill pill-unknown">No reading yet</span>;
  return (
    <span className={`pill pill-${status}`} data-testid="status-pill">
      {kind ? statusLabel(status, kind) : STATUS_LABEL[status]}
    </span>
  );
}
