/** Alert list logic: open first, newest first, updated in place by live alert events. */
import type { AlertView } from '../api/client';

function newestTime(a: AlertView): number {
  return Date.parse(a.state === 'open' ? a.opened_at : (a.cleared_at ?? a.opened_at));
}

export function sortAlerts(alerts: readonly AlertView[]): AlertView[] {
  return [...alerts].sort((a, b) => {
    if (a.state !== b.state) return a.state === 'open' ? -1 : 1;
    return newestTime(b) - newestTime(a);
  });
}

/**
 * Upsert alerts by id. An acknowledgement carried by an older copy is kept: the API's
 * clearing event may not repeat who acknowledged the alert.
 */
export function mergeAlerts(current: readonly AlertView[], updates: readonly AlertView[]): AlertView[] {
  const byId = new Map(current.map((a) => [a.alert_id, a]));
  for (const update of updates) {
    const known = byId.get(update.alert_id);
    byId.set(update.alert_id, {
      ...update,
      acked_by: update.acked_by ?? known?.acked_by ?? null,
      acked_at: update.acked_at ?? known?.acked_at ?? null,
    });
  }
  return sortAlerts([...byId.values()]);
}

export function splitAlerts(alerts: readonly AlertView[]): { open: AlertView[]; cleared: AlertView[] } {
  const sorted = sortAlerts(alerts);
  return { open: sorted.filter((a) => a.state === 'open'), cleared: sorted.filter((a) => a.state !== 'open') };
}
