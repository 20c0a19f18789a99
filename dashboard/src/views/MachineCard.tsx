import { memo } from 'react';
import { SENSOR_FIELDS } from '../api/client';
import { Sparkline } from '../components/Sparkline';
import { StatusPill } from '../components/StatusPill';
import { SENSOR_META, formatNumber, formatPercent, formatTime } from '../state/format';
import type { MachineLive } from '../state/live';
import { href } from '../state/routes';

/** One machine on the overview; re-renders only when its own MachineLive object changes. */
export const MachineCard = memo(function MachineCard({ machine }: { machine: MachineLive }) {
  const { id, online, status, latest, threshold, openAlerts } = machine;
  const tone = online ? (status ?? 'unknown') : 'offline';
  const label = `${id}: ${online ? (status ?? 'no reading yet') : 'offline'}, failure probability ${formatPercent(latest?.failure_probability)}`;
  return (
    <a
      className={`card card-${tone}`}
      href={href.machine(id)}
      data-testid={`machine-card-${id}`}
      data-status={status ?? 'unknown'}
      data-online={String(online)}
      aria-label={label}
    >
      <div className="card-head">
        <h3 className="card-title" title={id}>
          {id}
        </h3>
        <StatusPill status={status} online={online} />
      </div>
      <div className="card-probability">
        <span className="card-probability-value" data-testid="card-probability">
          {formatPercent(latest?.failure_probability)}
        </span>
        <span className="card-probability-label">
          <span>failure probability</span>
          <span>threshold {formatPercent(threshold)}</span>
        </span>
      </div>
      <Sparkline values={machine.spark} threshold={threshold} />
      <dl className="card-values">
        {SENSOR_FIELDS.map((field) => (
          <div key={field}>
            <dt title={SENSOR_META[field].label}>{SENSOR_META[field].short}</dt>
            <dd>
              {formatNumber(latest?.[field], SENSOR_META[field].digits)} <small>{SENSOR_META[field].unit}</small>
            </dd>
          </div>
        ))}
      </dl>
      <div className="card-foot">
        <span>{online ? 'Last reading' : 'Last seen'} {formatTime(latest?.ts ?? machine.lastSeen)}</span>
        {openAlerts.length > 0 && (
          <span className="badge badge-alert" data-testid="card-open-alerts">
            {openAlerts.length} open alert{openAlerts.length > 1 ? 's' : ''}
          </span>
        )}
      </div>
    </a>
  );
});
