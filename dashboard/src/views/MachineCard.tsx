import { memo } from 'react';
import { Sparkline } from '../components/Sparkline';
import { StatusPill } from '../components/StatusPill';
import { useProfile } from '../live/profiles';
import { formatNumber, formatPercent, formatTime } from '../state/format';
import { numericFields } from '../state/profiles';
import type { MachineLive } from '../state/live';
import { href } from '../state/routes';

/** A card has room for this many of the profile's numbers (the first ones, in its order). */
const CARD_FIELDS = 6;

/** One machine on the overview; re-renders only when its own MachineLive object or its profile changes. */
export const MachineCard = memo(function MachineCard({ machine }: { machine: MachineLive }) {
  const { id, online, status, latest, threshold, openAlerts } = machine;
  const profile = useProfile(machine.profile);
  const fields = numericFields(profile).slice(0, CARD_FIELDS);
  const tone = online ? (status ?? 'unknown') : 'offline';
  const kind = profile ? ` (${profile.name})` : '';
  const label = `${id}${kind}: ${online ? (status ?? 'no reading yet') : 'offline'}, failure probability ${formatPercent(latest?.failure_probability)}`;
  return (
    <a
      className={`card card-${tone}`}
      href={href.machine(id)}
      data-testid={`machine-card-${id}`}
      data-status={status ?? 'unknown'}
      data-online={String(online)}
      data-profile={machine.profile ?? ''}
      aria-label={label}
    >
      <div className="card-head">
        <h3 className="card-title" title={profile ? `${id} — ${profile.name}` : id}>
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
        {fields.map((field) => {
          const value = latest?.values[field.name];
          return (
            <div key={field.name} data-testid={`card-value-${field.name}`}>
              <dt title={field.label}>{field.label}</dt>
              <dd>
                {formatNumber(typeof value === 'number' ? value : null, field.decimals)} <small>{field.unit}</small>
              </dd>
            </div>
          );
        })}
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
