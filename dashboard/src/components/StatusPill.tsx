import type { PredictionStatus } from '../api/client';

export const STATUS_LABEL: Record<PredictionStatus, string> = {
  normal: 'Normal',
  predictive: 'Failure predicted',
  failure: 'Failure',
  unscored: 'Not scored',
};

/** Coloured status label; colour is never the only cue (the text says it too). */
export function StatusPill({ status, online = true }: { status: PredictionStatus | null; online?: boolean }) {
  if (!online) return <span className="pill pill-offline">Offline</span>;
  if (status === null) return <span className="pill pill-unknown">No reading yet</span>;
  return <span className={`pill pill-${status}`}>{STATUS_LABEL[status]}</span>;
}
