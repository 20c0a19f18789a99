/** #/drift: one report per profile (each model compares with its own training data), and each machine's own. */
import { useMachineIds } from '../live/hooks';
import { useProfiles } from '../live/profiles';
import { href } from '../state/routes';
import { DriftPanel } from './DriftPanel';

function MachineLinks() {
  const ids = useMachineIds();
  if (ids.length === 0) return null;
  return (
    <nav className="drift-machines" aria-label="Drift per machine">
      <span className="muted">Each machine's own report is on its page:</span>
      <ul>
        {ids.map((id) => (
          <li key={id}>
            <a href={href.machine(id)}>{id}</a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function DriftView() {
  const profiles = Object.values(useProfiles());
  return (
    <section aria-labelledby="drift-page-title">
      <h1 id="drift-page-title" className="page-title">
        Drift
      </h1>
      {profiles.length === 0 && <DriftPanel title="All machines" />}
      {profiles.map((profile) => (
        <DriftPanel key={profile.id} profile={profile} title={`All ${profile.name} machines`} />
      ))}
      <MachineLinks />
    </section>
  );
}
