/** #/quality: how good the alerts are (GET /api/alerts/quality, the last 30 days), and the verdicts' CSV. */
import { useEffect, useState } from 'react';
import type { FalseAlarmRate, QualityReport } from '../api/client';
import { ApiError, VERDICTS_CSV_URL, api } from '../api/client';
import { withAccessToken } from '../api/auth';
import { ErrorState, Loading } from '../components/States';
import { formatPercent } from '../state/format';
import { href } from '../state/routes';

function seconds(value: number | null): string {
  if (value === null) return '—';
  return value < 120 ? `${value.toFixed(0)} s` : `${(value / 60).toFixed(1)} min`;
}

function RateTable({ title, rates, testId }: { title: string; rates: Record<string, FalseAlarmRate>; testId: string }) {
  const rows = Object.entries(rates);
  return (
    <table className="quality-table" data-testid={testId}>
      <caption>False alarms by {title}</caption>
      <thead>
        <tr>
          <th scope="col">{title}</th>
          <th scope="col">judged</th>
          <th scope="col">false alarms</th>
          <th scope="col">rate</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={4} className="muted">
              no verdicts yet
            </td>
          </tr>
        )}
        {rows.map(([name, rate]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{rate.judged}</td>
            <td>{rate.false_alarms}</td>
            <td>{formatPercent(rate.rate)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Figures({ report }: { report: QualityReport }) {
  const figures: [string, string, string][] = [
    ['alerts', String(report.alerts), `in ${report.days.toFixed(0)} days, ${report.machines} machines`],
    ['per-machine-day', report.alerts_per_machine_day.toFixed(2), 'alerts per machine-day'],
    ['time-to-ack', seconds(report.time_to_acknowledge_s.median), `median time to acknowledge (${report.acknowledged} acknowledged)`],
    ['verdict-share', formatPercent(report.verdict_share), `of alerts have a verdict (${report.with_verdict})`],
    ['false-alarm-rate', formatPercent(report.false_alarm_rate.overall.rate), `false alarms of ${report.false_alarm_rate.overall.judged} judged`],
  ];
  return (
    <dl className="quality-figures">
      {figures.map(([key, value, label]) => (
        <div key={key}>
          <dt>{label}</dt>
          <dd data-testid={`quality-${key}`}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function QualityView() {
  const [state, setState] = useState<{ report: QualityReport } | { error: string; status: number } | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let cancelled = false;
    api.quality().then(
      (report) => !cancelled && setState({ report }),
      (err: unknown) =>
        !cancelled && setState({ error: err instanceof Error ? err.message : String(err), status: err instanceof ApiError ? err.status : 0 }),
    );
    return () => {
      cancelled = true;
    };
  }, [attempt]);
  return (
    <section aria-labelledby="quality-title">
      <h1 id="quality-title" className="page-title">
        Alert quality
      </h1>
      {state === null && <Loading what="the alert quality" />}
      {state !== null && 'error' in state && (
        <ErrorState title="Cannot load the alert quality" message={state.error} status={state.status} onRetry={() => setAttempt((n) => n + 1)} />
      )}
      {state !== null && 'report' in state && (
        <>
          <Figures report={state.report} />
          <RateTable title="mode" rates={state.report.false_alarm_rate.by_mode} testId="quality-by-mode" />
          <RateTable title="rule" rates={state.report.false_alarm_rate.by_rule} testId="quality-by-rule" />
          <RateTable title="model version" rates={state.report.false_alarm_rate.by_model_version} testId="quality-by-model" />
          <table className="quality-table" data-testid="quality-noisiest">
            <caption>Noisiest machines</caption>
            <thead>
              <tr>
                <th scope="col">machine</th>
                <th scope="col">alerts</th>
                <th scope="col">per day</th>
                <th scope="col">false alarms</th>
              </tr>
            </thead>
            <tbody>
              {state.report.noisiest_machines.map((machine) => (
                <tr key={machine.machine_id}>
                  <th scope="row">
                    <a href={href.machine(machine.machine_id)}>{machine.machine_id}</a>
                  </th>
                  <td>{machine.alerts}</td>
                  <td>{machine.per_day.toFixed(2)}</td>
                  <td>{machine.false_alarms}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <a href={withAccessToken(VERDICTS_CSV_URL)} download data-testid="verdicts-csv">
              Download every alert's verdict (CSV)
            </a>
          </p>
        </>
      )}
    </section>
  );
}
