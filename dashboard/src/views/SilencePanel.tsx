/**
 * Snooze a machine's alerts, or schedule a maintenance window: alerts are still recorded (here,
 * in the API) but Telegram and the webhooks are not notified. Lists what is in force for the machine.
 */
import { useCallback, useEffect, useState } from 'react';
import type { SubmitEvent } from 'react';
import type { MaintenanceWindow, Snooze } from '../api/client';
import { api } from '../api/client';
import { useTokenGuard } from '../components/useTokenGuard';
import { formatDateTime } from '../state/format';

const SNOOZE_MINUTES = [30, 60, 240, 1440] as const;

function isoOf(local: string): string | null {
  const moment = new Date(local); // a datetime-local value: the browser's time zone
  return Number.isNaN(moment.getTime()) ? null : moment.toISOString();
}

export function SilencePanel({ machine }: { machine: string }) {
  const [snoozes, setSnoozes] = useState<Snooze[]>([]);
  const [windows, setWindows] = useState<MaintenanceWindow[]>([]);
  const [minutes, setMinutes] = useState<number>(60);
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const guard = useTokenGuard('change the snoozes');
  const refresh = useCallback(() => {
    api.snoozes().then((r) => setSnoozes(r.snoozes.filter((s) => s.machine_id === machine)), () => undefined);
    api.windows().then((r) => setWindows(r.windows.filter((w) => w.machine_id === machine)), () => undefined);
  }, [machine]);
  useEffect(refresh, [refresh]);

  const snooze = () =>
    guard.run(async ({ token, by }) => {
      await api.snooze({ machine_id: machine }, minutes, token, by);
      refresh();
    });
  const remove = (what: 'snoozes' | 'maintenance-windows', id: number) =>
    guard.run(async ({ token }) => {
      await api.remove(what, id, token);
      refresh();
    });
  const schedule = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const [from, to] = [isoOf(start), isoOf(end)];
    if (from === null || to === null) {
      setFormError('Give the window a start and an end.');
      return;
    }
    setFormError(null);
    guard.run(async ({ token, by }) => {
      await api.addWindow({ machine_id: machine, start: from, end: to }, token, by);
      refresh();
    });
  };
  return (
    <section className="silences" aria-labelledby="silences-title">
      <h2 id="silences-title" className="section-title">
        Snooze and maintenance windows
      </h2>
      <p className="muted">Alerts stay recorded here; Telegram and the webhooks are not notified.</p>
      <div className="maintenance-form">
        <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} aria-label="Snooze for" data-testid="snooze-minutes">
          {SNOOZE_MINUTES.map((m) => (
            <option key={m} value={m}>
              {m < 60 ? `${m} min` : `${m / 60} h`}
            </option>
          ))}
        </select>
        <button type="button" className="primary" onClick={snooze} data-testid="snooze-button">
          Snooze this machine's alerts
        </button>
      </div>
      <form className="maintenance-form" onSubmit={schedule}>
        <label>
          from <input type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} data-testid="window-start" />
        </label>
        <label>
          to <input type="datetime-local" value={end} onChange={(e) => setEnd(e.target.value)} data-testid="window-end" />
        </label>
        <button type="submit" data-testid="window-submit">
          Schedule a maintenance window
        </button>
      </form>
      {(formError ?? guard.error) && (
        <p className="form-error" role="alert">
          {formError ?? guard.error}
        </p>
      )}
      <ul className="maintenance-list">
        {snoozes.map((s) => (
          <li key={`s${s.id}`} data-testid="snooze-entry">
            snoozed until {formatDateTime(s.until)}
            {s.by ? ` by ${s.by}` : ''}{' '}
            <button type="button" onClick={() => remove('snoozes', s.id)} data-testid="snooze-end">
              end
            </button>
          </li>
        ))}
        {windows.map((w) => (
          <li key={`w${w.id}`} data-testid="window-entry">
            maintenance window {formatDateTime(w.start)} – {formatDateTime(w.end)}
            {w.by ? ` by ${w.by}` : ''}{' '}
            <button type="button" onClick={() => remove('maintenance-windows', w.id)} data-testid="window-remove">
              remove
            </button>
          </li>
        ))}
      </ul>
      {guard.dialog}
    </section>
  );
}
