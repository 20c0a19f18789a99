import { memo } from 'react';
import { Sparkline } from '../components/Sparkline';
import { StatusPill } from '../components/StatusPill';
import { useProfile } from '../live/profiles';
import { formatNumber, formatPercent, formatTime } from '../state/format';
import type { Prediction, Profile } from '../api/client';
import type { ModelKind } from '../state/modelKind';
import { formatRul, formatScore, modelBadge, modelKindOf, rulInterval, rulSpec, rulText } from '../state/modelKind';
import { numericFields } from '../state/profiles';
import type { MachineLive } from '../state/live';
import { href } from '../state/routes';

/** A card has room for this many of the profile's numbers (the first ones, in its order). */
const CARD_FIELDS = 6;

/** The model's verdict in words, for the card's accessible name. */
function verdictText(kind: ModelKind, profile: Profile | undefined, latest: Prediction | null): string {
  if (kind === 'rul') return `remaining life ${rulText(latest?.rul, rulSpec(profile, latest).unit)}`;
  if (kind === 'anomaly') return `anomaly score ${formatScore(latest?.anomaly_score)}`;
  return `failure probability ${formatPercent(latest?.failure_probability)}`;
}

/** The card's big figure: failure probability, remaining life or anomaly score, with its limit. */
function CardVerdict({ kind, profile, latest, threshold }: { kind: ModelKind; profile: Profile | undefined; latest: Prediction | null; threshold: number | null }) {
  let value: string;
  let what: string;
  let limit: string;
  let testId: string;
  if (kind === 'rul') {
    const { unit, horizon } = rulSpec(profile, latest);
    const left = unit ? `${unit} left` : 'left';
    [value, what, limit, testId] = [formatRul(latest?.rul), `${left} ${rulInterval(latest?.rul_low, latest?.rul_high)}`, `horizon ${rulText(horizon, unit)}`, 'card-rul'];
  } else if (kind === 'anomaly') {
    [value, what, limit, testId] = [formatScore(latest?.anomaly_score), 'anomaly score', `threshold ${formatScore(latest?.anomaly_threshold)}`, 'card-anomaly'];
  } else {
    [value, what, limit, testId] = [formatPercent(latest?.failure_probability), 'failure probability', `threshold ${formatPercent(threshold)}`, 'card-probability'];
  }
  return (
    <div className="card-probability">
      <span className="card-probability-value" data-testid={testId}>
        {value}
      </span>
      <span className="card-probability-label">
        <span>{what.trimEnd()}</span>
        <span>{limit}</span>
      </span>
    </div>
  );
}

/** One machine on the overview; re-renders only when its own MachineLive object or its profile changes. */
export const MachineCard = memo(function MachineCard({ machine }: { machine: MachineLive }) {
  const { id, online, status, latest, threshold, openAlerts } = machine;
  const profile = useProfile(machine.profile);
  const fields = numericFields(profile).slice(0, CARD_FIELDS);
  const tone = online ? (status ?? 'unknown') : 'offline';
  const kind = profile ? ` (${profile.name})` : '';
  const model = modelKindOf(profile, latest);
  const badge = modelBadge(profile, latest);
  const label = `${id}${kind}: ${online ? (status ?? 'no reading yet') : 'offline'}, ${verdictText(model, profile, latest)}`;
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
        <StatusPill status={status} online={online} kind={model} />
      </div>
      <CardVerdict kind={model} profile={profile} latest={latest} threshold={threshold} />
      <Sparkline values={machine.spark} threshold={model === 'classifier' ? threshold : null} />
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
        {/* the model's badge takes the place of the reading's time (a card has room for one of them and the alerts) */}
        {badge ? (
          <span
            className={`badge badge-${badge.tone}`}
            data-testid="card-model-badge"
            data-tone={badge.tone}
            title={`${online ? 'last reading' : 'last seen'} ${formatTime(latest?.ts ?? machine.lastSeen)}`}
          >
            {badge.text}
          </span>
        ) : (
          <span>
            {online ? 'Last reading' : 'Last seen'} {formatTime(latest?.ts ?? machine.lastSeen)}
          </span>
        )}
        {openAlerts.length > 0 && (
          <span className="badge badge-alert" data-testid="card-open-alerts">
            {openAlerts.length} open alert{openAlerts.length > 1 ? 's' : ''}
          </span>
        )}
      </div>
    </a>
  );
});
