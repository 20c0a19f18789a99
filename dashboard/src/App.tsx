import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { ConnectionBadge } from './components/ConnectionBadge';
import { Empty } from './components/States';
import { useStore, useTotals } from './live/hooks';
import type { Route } from './state/routes';
import { href, parseHash } from './state/routes';
import { AlertsView } from './views/AlertsView';
import { DriftView } from './views/DriftView';
import { LogView } from './views/LogView';
import { MachineView } from './views/MachineView';
import { ModelsView } from './views/ModelsView';
import { Overview } from './views/Overview';
import { QualityView } from './views/QualityView';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const TITLE_EVERY_MS = 1000;

export function titleFor(failure: number, predictive: number): string {
  const flags = [failure && `${failure} failure`, predictive && `${predictive} predicted`].filter(Boolean);
  return flags.length ? `(${flags.join(', ')}) Forewarn` : 'Forewarn — machine health';
}

/**
 * The tab title tells at a glance whether anything is wrong, and the nav shows how many
 * alerts are open. Its own component, so live updates do not re-render the whole app.
 */
function LiveSummary() {
  const { openAlerts } = useTotals(); // kept by each batch: no pass over the fleet here
  const store = useStore();
  // Setting document.title costs the browser real work; with a fleet the counts move in
  // nearly every batch, so the title follows them at most once a second.
  useEffect(() => {
    const apply = () => {
      const { failure, predictive } = store.getState().totals;
      const next = titleFor(failure, predictive);
      if (document.title !== next) document.title = next;
    };
    apply();
    const timer = setInterval(apply, TITLE_EVERY_MS);
    return () => clearInterval(timer);
  }, [store]);
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
    case 'quality':
      return <QualityView />;
    case 'drift':
      return <DriftView />;
    case 'models':
      return <ModelsView />;
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
          <NavLink to={href.quality()} active={route.name === 'quality'}>
            Quality
          </NavLink>
          <NavLink to={href.drift()} active={route.name === 'drift'}>
            Drift
          </NavLink>
          <NavLink to={href.models()} active={route.name === 'models'}>
            Models
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
