/** Open alerts on top with an Acknowledge button, cleared ones below; each with its verdict. */
import { useState } from 'react';
import type { AlertView, Verdict, VerdictKind } from '../api/client';
import { ApiError, api } from '../api/client';
import { useTokenGuard } from '../components/useTokenGuard';
import { VERDICT_LABELS, isVerdictKind, verdictText } from '../state/verdicts';
import { useVerdicts } from './useVerdicts';
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
  /** Whose verdicts to load (undefined: every machine's). */
  machine?: string;
}

interface AlertRowProps {
  alert: AlertView;
  showMachine: boolean;
  onAck: () => void;
  busy: boolean;
  verdict: Verdict | undefined;
  onVerdict: (verdict: VerdictKind) => void;
}

/** Real failure, false alarm, planned maintenance or unsure; changeable (the API keeps the history). */
export function VerdictControl({ alert, verdict, onVerdict }: Pick<AlertRowProps, 'alert' | 'verdict' | 'onVerdict'>) {
  return (
    <span className="verdict">
      <select
        value={verdict?.verdict ?? ''}
        onChange={(event) => {
          if (isVerdictKind(event.target.value)) onVerdict(event.target.value);
        }}
        data-testid="verdict-select"
        aria-label={`Verdict on alert of ${alert.machine_id}: ${alert.message}`}
      >
        <option value="" disabled>
          verdict…
        </option>
        {(Object.keys(VERDICT_LABELS) as VerdictKind[]).map((kind) => (
          <option key={kind} value={kind}>
            {VERDICT_LABELS[kind]}
          </option>
        ))}
      </select>
      {verdict && <span data-testid="verdict-info">{verdictText(verdict)}</span>}
    </span>
  );
}

function AlertRow({ alert, showMachine, onAck, busy, verdict, onVerdict }: AlertRowProps) {
  return (
    <li
      className={`alert-row alert-${alert.state} alert-${alert.severity}`}
      data-testid="alert-row"
      data-alert-id={alert.alert_id}
      data-state={alert.state}
      data-acked={String(alert.acked_by !== null)}
      data-verdict={verdict?.verdict ?? ''}
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
        <VerdictControl alert={alert} verdict={verdict} onVerdict={onVerdict} />
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

export function AlertList({ alerts, load, onRetry, onAcked, showMachine = true, machine }: AlertListProps) {
  const { ack, busy, error, dialog } = useAck(onAcked);
  const { verdicts, put } = useVerdicts(machine);
  const guard = useTokenGuard('record the verdict');
  const giveVerdict = (alert: AlertView, verdict: VerdictKind) =>
    guard.run(async ({ token, by }) => put(await api.giveVerdict(alert.alert_id, verdict, token, by)));
  if (load.phase === 'loading' && alerts.length === 0) return <Loading what="alerts" />;
  if (load.phase === 'error' && alerts.length === 0) {
    return <ErrorState title="Cannot load the alerts" message={load.message} onRetry={onRetry} status={load.status} />;
  }
  const { open, cleared } = splitAlerts(alerts);
  const rows = (list: AlertView[]) =>
    list.map((a) => (
      <AlertRow
        key={a.alert_id}
        alert={a}
        showMachine={showMachine}
        busy={busy === a.alert_id}
        onAck={() => ack(a)}
        verdict={verdicts.get(a.alert_id)}
        onVerdict={(verdict) => giveVerdict(a, verdict)}
      />
    ));
  return (
    <div className="alerts">
      {(error ?? guard.error) && (
        <p className="form-error" role="alert">
          {error ?? guard.error}
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
      {guard.dialog}
    </div>
  );
}
