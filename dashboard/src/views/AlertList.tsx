/** Open alerts on top with an Acknowledge button, cleared ones below. */
import { useState } from 'react';
import type { AlertView } from '../api/client';
import { ApiError, api } from '../api/client';
import { Empty, ErrorState, Loading } from '../components/States';
import type { Credentials } from '../api/auth';
import { storeCredentials, storedCredentials } from '../api/auth';
import { TokenDialog } from '../components/TokenDialog';
import { splitAlerts } from '../state/alerts';
import { formatDateTime, formatPercent } from '../state/format';
import { ALERT_KIND_LABEL, alertFigure } from '../state/modelKind';
import { href } from '../state/routes';
import type { AlertsLoad } from './useAlerts';

interface AlertListProps {
  alerts: readonly AlertView[];
  load: AlertsLoad;
  onRetry: () => void;
  onAcked: (alert: AlertView) => void;
  showMachine?: boolean;
}

function AlertRow({ alert, showMachine, onAck, busy }: { alert: AlertView; showMachine: boolean; onAck: () => void; busy: boolean }) {
  return (
    <li
      className={`alert-row alert-${alert.state} alert-${alert.severity}`}
      data-testid="alert-row"
      data-alert-id={alert.alert_id}
      data-state={alert.state}
      data-acked={String(alert.acked_by !== null)}
    >
      <div className="alert-main">
        <span className={`pill pill-${alert.severity === 'critical' ? 'failure' : 'predictive'}`} data-testid="alert-kind" data-kind={alert.kind}>
          {ALERT_KIND_LABEL[alert.kind]}
        </span>
        {showMachine && (
          <a href={href.machine(alert.machine_id)} className="alert-machine">
            {alert.machine_id}
          </a>
        )}
        <span className="alert-message">{alert.message}</span>
      </div>
      <div className="alert-meta">
        <span>opened {formatDateTime(alert.opened_at)}</span>
        <span data-testid="alert-figure">{alertFigure(alert, formatPercent)}</span>
        {alert.predicted_mode && <span>mode {alert.predicted_mode}</span>}
        {alert.cleared_at && <span>cleared {formatDateTime(alert.cleared_at)}</span>}
        {alert.acked_by !== null ? (
          <span data-testid="ack-info">
            acknowledged by {alert.acked_by} {formatDateTime(alert.acked_at)}
          </span>
        ) : (
          alert.state === 'open' && (
            <button
              type="button"
              className="primary"
              onClick={onAck}
              disabled={busy}
              data-testid="ack-button"
              aria-label={`Acknowledge alert on ${alert.machine_id}: ${alert.message}`}
            >
              {busy ? 'Acknowledging…' : 'Acknowledge'}
            </button>
          )
        )}
      </div>
    </li>
  );
}

function useAck(onAcked: (alert: AlertView) => void) {
  const [pending, setPending] = useState<AlertView | null>(null); // waiting for a token
  const [tokenError, setTokenError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const send = async (alert: AlertView, credentials: Credentials) => {
    setBusy(alert.alert_id);
    setError(null);
    try {
      onAcked(await api.ack(alert.alert_id, credentials.token, credentials.by));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        storeCredentials(null);
        setTokenError('The API refused this token. Enter it again.');
        setPending(alert);
      } else {
        setError(`Could not acknowledge: ${err instanceof Error ? err.message : String(err)}`);
      }
    } finally {
      setBusy(null);
    }
  };

  const ack = (alert: AlertView) => {
    const credentials = storedCredentials();
    if (credentials) void send(alert, credentials);
    else setPending(alert);
  };
  const submitToken = (credentials: Credentials) => {
    storeCredentials(credentials);
    const alert = pending;
    setPending(null);
    setTokenError(null);
    if (alert) void send(alert, credentials);
  };
  const cancel = () => {
    setPending(null);
    setTokenError(null);
  };
  return { ack, busy, error, dialog: pending && <TokenDialog error={tokenError} onSubmit={submitToken} onCancel={cancel} /> };
}

export function AlertList({ alerts, load, onRetry, onAcked, showMachine = true }: AlertListProps) {
  const { ack, busy, error, dialog } = useAck(onAcked);
  if (load.phase === 'loading' && alerts.length === 0) return <Loading what="alerts" />;
  if (load.phase === 'error' && alerts.length === 0) {
    return <ErrorState title="Cannot load the alerts" message={load.message} onRetry={onRetry} status={load.status} />;
  }
  const { open, cleared } = splitAlerts(alerts);
  const rows = (list: AlertView[]) =>
    list.map((a) => (
      <AlertRow key={a.alert_id} alert={a} showMachine={showMachine} busy={busy === a.alert_id} onAck={() => ack(a)} />
    ));
  return (
    <div className="alerts">
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <h2 className="section-title">
        Open alerts <span className="badge">{open.length}</span>
      </h2>
      {open.length > 0 ? (
        <ul className="alert-list" data-testid="open-alerts">
          {rows(open)}
        </ul>
      ) : (
        <Empty title="No open alerts">
          <p>
            Alerts open here when the model predicts a failure, a machine enters its remaining-life horizon, its readings
            turn anomalous, or it reports a failure.
          </p>
        </Empty>
      )}
      <h2 className="section-title">
        Cleared <span className="badge">{cleared.length}</span>
      </h2>
      {cleared.length > 0 ? (
        <ul className="alert-list alert-list-cleared" data-testid="cleared-alerts">
          {rows(cleared)}
        </ul>
      ) : (
        <p className="muted">No cleared alerts.</p>
      )}
      {dialog}
    </div>
  );
}
