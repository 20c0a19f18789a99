/** A machine's maintenance log, and a form to record what was done (tool replaced, repaired, ...). */
import { useEffect, useState } from 'react';
import type { SubmitEvent } from 'react';
import type { MaintenanceAction, MaintenanceEntry } from '../api/client';
import { api } from '../api/client';
import { useTokenGuard } from '../components/useTokenGuard';
import { formatDateTime } from '../state/format';
import { MAINTENANCE_LABELS } from '../state/verdicts';

export function MaintenancePanel({ machine }: { machine: string }) {
  const [entries, setEntries] = useState<MaintenanceEntry[]>([]);
  const [action, setAction] = useState<MaintenanceAction>('tool_replaced');
  const [note, setNote] = useState('');
  const guard = useTokenGuard('log the maintenance');
  useEffect(() => {
    let cancelled = false;
    api.maintenance(machine).then(
      (response) => {
        if (!cancelled) setEntries((mine) => [...mine, ...response.maintenance.filter((e) => !mine.some((m) => m.id === e.id))]);
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [machine]);
  const submit = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = note.trim();
    guard.run(async ({ token, by }) => {
      const entry = await api.logMaintenance({ machine_id: machine, action, ...(text ? { note: text } : {}) }, token, by);
      setEntries((current) => [entry, ...current]);
      setNote('');
    });
  };
  return (
    <section className="maintenance" aria-labelledby="maintenance-title">
      <h2 id="maintenance-title" className="section-title">
        Maintenance log
      </h2>
      <form className="maintenance-form" onSubmit={submit}>
        <select
          value={action}
          onChange={(event) => setAction(event.target.value as MaintenanceAction)}
          aria-label="What was done"
          data-testid="maintenance-action"
        >
          {(Object.keys(MAINTENANCE_LABELS) as MaintenanceAction[]).map((key) => (
            <option key={key} value={key}>
              {MAINTENANCE_LABELS[key]}
            </option>
          ))}
        </select>
        <input
          value={note}
          onChange={(event) => setNote(event.target.value)}
          placeholder="note (optional)"
          aria-label="Note"
          maxLength={2000}
          data-testid="maintenance-note"
        />
        <button type="submit" className="primary" data-testid="maintenance-submit">
          Log
        </button>
      </form>
      {guard.error && (
        <p className="form-error" role="alert">
          {guard.error}
        </p>
      )}
      {entries.length > 0 ? (
        <ul className="maintenance-list">
          {entries.map((entry) => (
            <li key={entry.id} data-testid="maintenance-entry">
              {formatDateTime(entry.at)}: {MAINTENANCE_LABELS[entry.action]}
              {entry.by ? ` by ${entry.by}` : ''}
              {entry.note ? ` — ${entry.note}` : ''}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">Nothing logged yet.</p>
      )}
      {guard.dialog}
    </section>
  );
}
