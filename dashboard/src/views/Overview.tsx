import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States';
import { StatusPill } from '../components/StatusPill';
import { loadSnapshot } from '../live/connection';
import { useConnection, useShownInOrder, useSnapshot, useStore, useTotals } from '../live/hooks';
import { useProfile } from '../live/profiles';
import { formatPercent, formatTime } from '../state/format';
import { modelBadge, modelKindOf } from '../state/modelKind';
import type { Counts, MachineLive } from '../state/live';
import type { OverviewFilter, StatusFilter } from '../state/overview';
import {
  STATUS_FILTERS,
  STATUS_FILTER_LABELS,
  attentionRank,
  filterMachines,
  needsAttention,
  overviewHash,
  parseOverviewQuery,
  profilesOf,
} from '../state/overview';
import { href } from '../state/routes';
import { MachineGrid } from './MachineGrid';

/** Rows of the needs-attention list shown before "show all". */
export const ATTENTION_ROWS = 8;

const COUNT_ITEMS: readonly { key: keyof Counts & StatusFilter; label: string }[] = [
  { key: 'normal', label: 'Normal' },
  { key: 'predictive', label: 'Failure predicted' },
  { key: 'failure', label: 'Failure' },
  { key: 'unscored', label: 'Not scored (no model)' },
  { key: 'offline', label: 'Offline' },
];

/** The summary by status; each count filters the grid to its machines (again: back to all). */
export function CountsBar({
  counts,
  active,
  onSelect,
}: {
  counts: Counts;
  active?: StatusFilter;
  onSelect?: (status: StatusFilter) => void;
}) {
  const item = (key: StatusFilter, className: string, testId: string, count: number, label: string) => (
    <li key={key} className={`count ${className}`} data-testid={testId} data-count={count}>
      <button
        type="button"
        className="count-button"
        aria-pressed={active === key}
        disabled={!onSelect}
        onClick={() => onSelect?.(active === key ? 'all' : key)}
      >
        <span className="count-value">{count}</span> <span className="count-label">{label}</span>
      </button>
    </li>
  );
  return (
    <ul className="counts" aria-label="Machines per state">
      {COUNT_ITEMS.map(({ key, label }) => item(key, `count-${key}`, `count-${key}`, counts[key], label))}
      {item('all', 'count-total', 'count-total', counts.total, 'machines')}
    </ul>
  );
}

function NoMachines() {
  return (
    <Empty title="No machines yet">
      <p>Cards appear here by themselves as soon as a machine publishes. Start a publisher, for example:</p>
      <pre>
        <code>python -m publisher simulate --machine sim-1</code>
      </pre>
      <p>
        or replay a recording: <code>python -m publisher replay data/slave1_data.csv --machine slave1</code>
      </p>
    </Empty>
  );
}

function StaleBanner() {
  const connection = useConnection();
  if (connection === 'live' || connection === 'connecting') return null;
  return (
    <p className="banner" role="status" data-testid="stale-banner">
      Live updates are interrupted: the values below may be out of date. Reconnecting by itself — if this lasts,
      check that the Forewarn API is running.
    </p>
  );
}

const AttentionRow = memo(function AttentionRow({ machine }: { machine: MachineLive }) {
  const alerts = machine.openAlerts.length;
  const profile = useProfile(machine.profile);
  const kind = modelKindOf(profile, machine.latest);
  const badge = modelBadge(profile, machine.latest);
  return (
    <li className="attention-row" data-testid="attention-row" data-machine={machine.id} data-rank={attentionRank(machine)}>
      <a href={href.machine(machine.id)} className="attention-link">
        <span className="attention-id">{machine.id}</span>
        <StatusPill status={machine.status} online={machine.online} kind={kind} />
        <span className="attention-probability" title={kind === 'classifier' ? 'failure probability' : undefined}>
          {badge ? (
            <span className={`badge badge-${badge.tone}`} data-testid="attention-model-badge">
              {badge.text}
            </span>
          ) : kind === 'classifier' ? (
            formatPercent(machine.latest?.failure_probability)
          ) : (
            ''
          )}
        </span>
        <span className="attention-alerts">{alerts > 0 ? `${alerts} open alert${alerts > 1 ? 's' : ''}` : ''}</span>
        <span className="attention-seen">
          {machine.online ? 'last reading' : 'last seen'} {formatTime(machine.lastSeen)}
        </span>
      </a>
    </li>
  );
});

/** The most urgent machines first; the rest are one click away (the grid filtered to them). */
function AttentionList({ machines, onShowAll }: { machines: readonly MachineLive[]; onShowAll: () => void }) {
  if (machines.length === 0) {
    return (
      <p className="attention-none" data-testid="attention-none">
        No machine needs attention.
      </p>
    );
  }
  const rest = machines.length - ATTENTION_ROWS;
  return (
    <section className="attention" aria-labelledby="attention-title" data-testid="attention" data-count={machines.length}>
      <h2 id="attention-title" className="attention-title">
        Needs attention <span className="attention-count">{machines.length}</span>
      </h2>
      <ol className="attention-list">
        {machines.slice(0, ATTENTION_ROWS).map((m) => (
          <AttentionRow key={m.id} machine={m} />
        ))}
      </ol>
      {rest > 0 && (
        <button type="button" className="link-button" data-testid="attention-show-all" onClick={onShowAll}>
          Show all {machines.length} in the grid
        </button>
      )}
    </section>
  );
}

function Filters({
  filter,
  profiles,
  onChange,
  shown,
  total,
}: {
  filter: OverviewFilter;
  profiles: readonly string[];
  onChange: (next: OverviewFilter) => void;
  shown: number;
  total: number;
}) {
  const filtered = filter.query !== '' || filter.status !== 'all' || filter.profile !== null;
  return (
    <div className="overview-filters" role="search">
      <label>
        <span>Machine</span>
        <input
          type="search"
          data-testid="overview-search"
          placeholder="Search machine id"
          value={filter.query}
          onChange={(e) => onChange({ ...filter, query: e.target.value })}
        />
      </label>
      <label>
        <span>Status</span>
        <select
          data-testid="overview-status"
          value={filter.status}
          onChange={(e) => onChange({ ...filter, status: e.target.value as StatusFilter })}
        >
          {STATUS_FILTERS.map((s) => (
            <option key={s} value={s}>
              {STATUS_FILTER_LABELS[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Profile</span>
        <select
          data-testid="overview-profile"
          value={filter.profile ?? ''}
          onChange={(e) => onChange({ ...filter, profile: e.target.value || null })}
          disabled={profiles.length === 0 && filter.profile === null}
        >
          <option value="">All profiles</option>
          {profiles.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <p className="overview-shown" data-testid="overview-shown" data-count={shown} aria-live="polite">
        {filtered ? `${shown} of ${total} machines` : `${total} machines`}
      </p>
      {filtered && (
        <button type="button" className="link-button" data-testid="overview-clear" onClick={() => onChange({ query: '', status: 'all', profile: null })}>
          Clear filters
        </button>
      )}
    </div>
  );
}

/** The filter lives in the hash (`#/?q=...`), so it survives a visit to a machine and can be shared. */
function useOverviewFilter(): [OverviewFilter, (next: OverviewFilter) => void] {
  const [filter, setFilter] = useState(() => parseOverviewQuery(window.location.hash));
  useEffect(() => {
    const onChange = () => setFilter(parseOverviewQuery(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const update = useCallback((next: OverviewFilter) => {
    setFilter(next);
    // replaceState: typing a search must not fill the history with one entry per key
    window.history.replaceState(null, '', overviewHash(next));
  }, []);
  return [filter, update];
}

export function Overview() {
  const machines = useShownInOrder();
  const snapshot = useSnapshot();
  const store = useStore();
  const [filter, setFilter] = useOverviewFilter();
  const counts = useTotals();
  const attention = useMemo(() => needsAttention(machines), [machines]);
  const profiles = useMemo(() => profilesOf(machines), [machines]);
  const visible = useMemo(() => filterMachines(machines, filter), [machines, filter]);
  const selectStatus = useCallback((status: StatusFilter) => setFilter({ ...filter, status }), [filter, setFilter]);

  let body;
  if (machines.length > 0) {
    body = (
      <>
        <AttentionList machines={attention} onShowAll={() => selectStatus('attention')} />
        <Filters filter={filter} profiles={profiles} onChange={setFilter} shown={visible.length} total={machines.length} />
        {visible.length > 0 ? (
          <MachineGrid machines={visible} />
        ) : (
          <p className="state" data-testid="overview-no-match">
            No machine matches these filters.
          </p>
        )}
      </>
    );
  } else if (snapshot.phase === 'loading') {
    body = <Loading what="machines" />;
  } else if (snapshot.phase === 'error') {
    body = (
      <ErrorState
        title="Cannot load the machines"
        message={
          snapshot.status === 401
            ? `${snapshot.message}.`
            : `${snapshot.message}. Check that the Forewarn API is running and reachable, then try again.`
        }
        status={snapshot.status}
        onRetry={() => void loadSnapshot(store)}
      />
    );
  } else {
    body = <NoMachines />;
  }
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title" className="visually-hidden">
        Overview
      </h1>
      <StaleBanner />
      <CountsBar counts={counts} active={filter.status} onSelect={selectStatus} />
      {body}
    </section>
  );
}
