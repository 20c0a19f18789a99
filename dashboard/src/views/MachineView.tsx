import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { Chart } from '../components/Chart';
import { Empty, ErrorState, Loading } from '../components/States';
import { StatusPill } from '../components/StatusPill';
import { useMachine } from '../live/hooks';
import { useProfile } from '../live/profiles';
import { formatNumber, formatPercent, formatTime } from '../state/format';
import type { FieldMeta } from '../state/profiles';
import { labelWithUnit, modeNames, numericFields } from '../state/profiles';
import type { SeriesColumns, WindowKey } from '../state/series';
import { WINDOWS } from '../state/series';
import { href } from '../state/routes';
import { AlertList } from './AlertList';
import { DriftPanel } from './DriftPanel';
import { MaintenancePanel } from './MaintenancePanel';
import { SilencePanel } from './SilencePanel';
import { useAlerts } from './useAlerts';
import { useSeries } from './useSeries';

const COLORS = ['#5fa8ff', '#c792ea', '#4fd1c5', '#f6ad55', '#a3e635', '#f472b6', '#facc15', '#38bdf8'];

function WindowSelector({ value, onChange }: { value: WindowKey; onChange: (w: WindowKey) => void }) {
  return (
    <div className="segmented" role="group" aria-label="Chart window" data-testid="window-selector">
      {(Object.keys(WINDOWS) as WindowKey[]).map((key) => (
        <button
          key={key}
          type="button"
          aria-pressed={value === key}
          className={value === key ? 'active' : ''}
          onClick={() => onChange(key)}
          data-testid={`window-${key}`}
        >
          {WINDOWS[key].label}
        </button>
      ))}
    </div>
  );
}

function lastOf(column: readonly (number | null)[] | undefined): number | null {
  return column && column.length > 0 ? (column[column.length - 1] ?? null) : null;
}

interface ChartsProps {
  columns: SeriesColumns;
  fields: readonly FieldMeta[];
  threshold: number | null;
  windowMs: number;
}

function Charts({ columns, fields, threshold, windowMs }: ChartsProps) {
  const [xs] = columns;
  const probability = columns[fields.length + 1];
  const probabilityData = useMemo<uPlot.AlignedData>(() => {
    const ys = probability ?? [];
    return threshold === null ? [xs, ys] : [xs, ys, xs.map(() => threshold)];
  }, [xs, probability, threshold]);
  const probabilitySeries = [
    { label: 'Failure probability', stroke: '#ff6b6b' },
    ...(threshold === null ? [] : [{ label: `Threshold ${formatPercent(threshold)}`, stroke: '#e0a100', dash: [6, 4] }]),
  ];
  return (
    <div className="charts">
      <Chart
        title="Failure probability"
        data={probabilityData}
        series={probabilitySeries}
        yRange={[0, 1]}
        xWindowMs={windowMs}
        testId="chart-probability"
        summary={`latest ${formatPercent(lastOf(probability))}, threshold ${formatPercent(threshold)}`}
      />
      {fields.map((field, i) => {
        const column = columns[i + 1] ?? [];
        return (
          <Chart
            key={field.name}
            title={labelWithUnit(field)}
            data={[xs, column]}
            series={[{ label: field.label, stroke: COLORS[i % COLORS.length] ?? '#ccc' }]}
            xWindowMs={windowMs}
            testId={`chart-${field.name}`}
            summary={`latest ${formatNumber(lastOf(column), field.decimals)} ${field.unit}`.trimEnd()}
          />
        );
      })}
    </div>
  );
}

function ChartsArea({ id, window }: { id: string; window: WindowKey }) {
  const machine = useMachine(id);
  const profile = useProfile(machine?.profile);
  const fields = useMemo(() => numericFields(profile), [profile]);
  const names = useMemo(() => fields.map((f) => f.name), [fields]);
  const { columns, load, threshold, retry } = useSeries(id, window, names);
  const limit = threshold ?? machine?.threshold ?? null;
  if (load.phase === 'loading') return <Loading what="history" />;
  if (load.phase === 'error' && load.status === 404 && !machine) {
    return (
      <Empty title={`Unknown machine "${id}"`}>
        <p>
          The API has never heard from it. <a href={href.overview()}>Back to the overview</a>.
        </p>
      </Empty>
    );
  }
  if (load.phase === 'error') {
    return <ErrorState title="Cannot load the history" message={load.message} onRetry={retry} status={load.status} />;
  }
  if (columns[0].length === 0) {
    return (
      <Empty title="No readings in this window">
        <p>Pick a longer window, or wait: live readings are drawn as they arrive.</p>
      </Empty>
    );
  }
  return (
    <>
      {load.downsampled && <p className="muted">Downsampled by the server to keep the charts light.</p>}
      {machine?.profile && !profile && <p className="muted">Loading the profile {machine.profile}…</p>}
      <Charts columns={columns} fields={fields} threshold={limit} windowMs={WINDOWS[window].ms} />
    </>
  );
}

function MachineHeader({ id }: { id: string }) {
  const machine = useMachine(id);
  const profile = useProfile(machine?.profile);
  const latest = machine?.latest ?? null;
  return (
    <header className="machine-header" data-testid="machine-header" data-status={machine?.status ?? 'unknown'} data-online={String(machine?.online ?? false)}>
      <div>
        <a href={href.overview()} className="back-link">
          ← Overview
        </a>
        <h1 className="page-title">{id}</h1>
        {machine?.profile && (
          <p className="muted" data-testid="machine-profile" data-profile={machine.profile}>
            {profile?.name ?? machine.profile}
          </p>
        )}
      </div>
      <StatusPill status={machine?.status ?? null} online={machine?.online ?? false} />
      <dl className="machine-facts">
        <div>
          <dt>Failure probability</dt>
          <dd>{formatPercent(latest?.failure_probability)}</dd>
        </div>
        <div>
          <dt>Predicted mode</dt>
          <dd>{latest?.predicted_mode ? (modeNames(profile)[latest.predicted_mode] ?? latest.predicted_mode) : '—'}</dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd>{latest?.model_version ?? '—'}</dd>
        </div>
        <div>
          <dt>Last reading</dt>
          <dd>{formatTime(latest?.ts)}</dd>
        </div>
      </dl>
    </header>
  );
}

export function MachineView({ id }: { id: string }) {
  const profile = useProfile(useMachine(id)?.profile);
  const [window, setWindow] = useState<WindowKey>('5m');
  const alerts = useAlerts(id);
  return (
    <section className="machine-view">
      <MachineHeader id={id} />
      <WindowSelector value={window} onChange={setWindow} />
      <ChartsArea id={id} window={window} />
      <AlertList
        alerts={alerts.alerts}
        load={alerts.load}
        onRetry={alerts.retry}
        onAcked={alerts.replace}
        showMachine={false}
        machine={id}
      />
      <MaintenancePanel machine={id} />
      <SilencePanel machine={id} />
      <DriftPanel machine={id} profile={profile} />
    </section>
  );
}
