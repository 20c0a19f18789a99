import { useMemo } from 'react';
import { Empty, ErrorState, Loading } from '../components/States';
import { loadSnapshot } from '../live/connection';
import { useConnection, useShownMachines, useSnapshot, useStore } from '../live/hooks';
import type { Counts } from '../state/live';
import { countMachines, sortedMachines } from '../state/live';
import { MachineCard } from './MachineCard';

const COUNT_ITEMS: readonly { key: keyof Counts; label: string }[] = [
  { key: 'normal', label: 'Normal' },
  { key: 'predictive', label: 'Failure predicted' },
  { key: 'failure', label: 'Failure' },
  { key: 'unscored', label: 'Not scored (no model)' },
  { key: 'offline', label: 'Offline' },
];

export function CountsBar({ counts }: { counts: Counts }) {
  return (
    <ul className="counts" aria-label="Machines per state">
      {COUNT_ITEMS.map(({ key, label }) => (
        <li key={key} className={`count count-${key}`} data-testid={`count-${key}`} data-count={counts[key]}>
          <span className="count-value">{counts[key]}</span> <span className="count-label">{label}</span>
        </li>
      ))}
      <li className="count count-total" data-testid="count-total" data-count={counts.total}>
        <span className="count-value">{counts.total}</span> <span className="count-label">machines</span>
      </li>
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

export function Overview() {
  const shown = useShownMachines();
  const snapshot = useSnapshot();
  const store = useStore();
  const machines = useMemo(() => sortedMachines(shown), [shown]);
  const counts = useMemo(() => countMachines(machines), [machines]);

  let body;
  if (machines.length > 0) {
    body = (
      <div className="cards" data-testid="machine-cards">
        {machines.map((m) => (
          <MachineCard key={m.id} machine={m} />
        ))}
      </div>
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
      <CountsBar counts={counts} />
      {body}
    </section>
  );
}
