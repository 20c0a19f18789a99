/** #/drift: the fleet's drift report, with a way to each machine's own. */
import { useMachineIds } from '../live/hooks';
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
  return (
    <section aria-labelledby="drift-page-title">
      <h1 id="drift-page-title" className="page-title">
        Drift
      </h1>
      <DriftPanel title="Whole fleet" />
      <MachineLinks />
    </section>
  );
}
