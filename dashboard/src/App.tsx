import { useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { ConnectionBadge } from './components/ConnectionBadge';
import { Empty } from './components/States';
import { useLive } from './live/hooks';
import { countMachines, sortedMachines } from './state/live';
import type { Route } from './state/routes';
import { href, parseHash } from './state/routes';
import { AlertsView } from './views/AlertsView';
import { DriftView } from './views/DriftView';
import { LogView } from './views/LogView';
import { MachineView } from './views/MachineView';
import { Overview } from './views/Overview';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/**
 * The tab title tells at a glance whether anything is wrong, and the nav shows how many
 * alerts are open. Its own component, so live updates do not re-render the whole app.
 */
function LiveSummary() {
  const live = useLive();
  const { failure, predictive, openAlerts } = useMemo(() => {
    const machines = sortedMachines(live.machines);
    const counts = countMachines(machines);
    return { ...counts, openAlerts: machines.reduce((n, m) => n + m.openAlerts.length, 0) };
  }, [live]);
  useEffect(() => {
    const flags = [failure && `${failure} failure`, predictive && `${predictive} predicted`].filter(Boolean);
    document.title = flags.length ? `(${flags.join(', ')}) Forewarn` : 'Forewarn — machine health';
  }, [failure, predictive]);
  if (openAlerts === 0) return null;
  return (
    <span className="badge badge-alert" data-testid="nav-open-alerts" aria-label={`${openAlerts} open`}>
      {openAlerts}
    </span>
  );
}

function NavLink({ to, active, children }: { to: string; active: boolean; children: ReactNode }) {
  return (
    <a href={to} className={active ? 'nav-link active' : 'nav-link'} aria-current={active ? 'page' : undefined}>
      {children}
    </a>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case 'overview':
      return <Overview />;
    case 'machine':
      return <MachineView key={route.id} id={route.id} />;
    case 'log':
      return <LogView />;
    case 'alerts':
      return <AlertsView />;
    case 'drift':
      return <DriftView />;
    case 'not-found':
      return (
        <Empty title="Page not found">
          <p>
            Nothing lives at <code>{route.hash}</code>. <a href={href.overview()}>Go to the overview</a>.
          </p>
        </Empty>
      );
  }
}

export function App() {
  const route = useRoute();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href.overview()}>
          Forewarn
        </a>
        <nav aria-label="Main">
          <NavLink to={href.overview()} active={route.name === 'overview' || route.name === 'machine'}>
            Overview
          </NavLink>
          <NavLink to={href.log()} active={route.name === 'log'}>
            Log
          </NavLink>
          <NavLink to={href.alerts()} active={route.name === 'alerts'}>
            Alerts
            <LiveSummary />
          </NavLink>
          <NavLink to={href.drift()} active={route.name === 'drift'}>
            Drift
          </NavLink>
        </nav>
        <ConnectionBadge />
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}
