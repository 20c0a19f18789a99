import { AlertList } from './AlertList';
import { useAlerts } from './useAlerts';

export function AlertsView() {
  const { alerts, load, replace, retry } = useAlerts();
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title" className="page-title">
        Alerts
      </h1>
      <AlertList alerts={alerts} load={load} onRetry={retry} onAcked={replace} />
    </section>
  );
}
