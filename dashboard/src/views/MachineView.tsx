import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { Chart } from '../components/Chart';
import { Empty, ErrorState, Loading } from '../components/States';
import { StatusPill } from '../components/StatusPill';
import { useMachine } from '../live/hooks';
import { useProfile } from '../live/profiles';
import { formatNumber, formatPercent, formatTime } from '../state/format';
import type { Prediction, Profile } from '../api/client';
import type { FieldMeta } from '../state/profiles';
import { labelWithUnit, modeNames, numericFields } from '../state/profiles';
import type { ModelKind, RulSpec } from '../state/modelKind';
import { formatScore, modelKindOf, rulInterval, rulSpec, rulText } from '../state/modelKind';
import type { ModelColumns, SeriesColumns, WindowKey } from '../state/series';
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

const LIMIT_COLOR = '#e0a100';
const LIMIT_DASH = [6, 4];
const BAND_COLOR = '#4fd1c5';
const BAND_FILL = 'rgba(79, 209, 197, 0.25)';
const ANOMALY_COLOR = '#ff6b6b';

/** What the machine's model says over time, drawn the way its kind needs. */
interface ModelView {
  kind: ModelKind;
  rul: RulSpec;
  /** The failure-probability threshold (classifier) or the anomaly threshold (detector). */
  threshold: number | null;
}

interface ChartsProps {
  columns: SeriesColumns;
  model: ModelColumns;
  fields: readonly FieldMeta[];
  view: ModelView;
  windowMs: number;
}

function ProbabilityChart({ xs, probability, threshold, windowMs }: { xs: number[]; probability: (number | null)[]; threshold: number | null; windowMs: number }) {
  const data = useMemo<uPlot.AlignedData>(
    () => (threshold === null ? [xs, probability] : [xs, probability, xs.map(() => threshold)]),
    [xs, probability, threshold],
  );
  const series = [
    { label: 'Failure probability', stroke: ANOMALY_COLOR },
    ...(threshold === null ? [] : [{ label: `Threshold ${formatPercent(threshold)}`, stroke: LIMIT_COLOR, dash: LIMIT_DASH }]),
  ];
  return (
    <Chart
      title="Failure probability"
      data={data}
      series={series}
      yRange={[0, 1]}
      xWindowMs={windowMs}
      testId="chart-probability"
      summary={`latest ${formatPercent(lastOf(probability))}, threshold ${formatPercent(threshold)}`}
    />
  );
}

/** The remaining useful life, its interval as a band, and the horizon under which it warns. */
function RulChart({ xs, model, spec, windowMs }: { xs: number[]; model: ModelColumns; spec: RulSpec; windowMs: number }) {
  const { horizon, unit } = spec;
  const data = useMemo<uPlot.AlignedData>(() => {
    const columns: uPlot.AlignedData = [xs, model.rulHigh, model.rulLow, model.rul];
    return horizon === null ? columns : [...columns, xs.map(() => horizon)];
  }, [xs, model, horizon]);
  const series = [
    { label: 'Interval high', stroke: BAND_COLOR, edge: true },
    { label: 'Interval low', stroke: BAND_COLOR, edge: true },
    { label: 'Remaining life', stroke: '#5fa8ff' },
    ...(horizon === null ? [] : [{ label: `Horizon ${rulText(horizon, unit)}`, stroke: LIMIT_COLOR, dash: LIMIT_DASH }]),
  ];
  const latest = `latest ${rulText(lastOf(model.rul), unit)} ${rulInterval(lastOf(model.rulLow), lastOf(model.rulHigh))}`.trimEnd();
  return (
    <Chart
      title={unit ? `Remaining useful life (${unit})` : 'Remaining useful life'}
      data={data}
      series={series}
      band={{ upper: 1, lower: 2, fill: BAND_FILL }}
      xWindowMs={windowMs}
      testId="chart-rul"
      summary={`${latest}, horizon ${rulText(horizon, unit)}`}
    />
  );
}

/** The anomaly score against its threshold, readings above it marked. */
function AnomalyChart({ xs, score, threshold, windowMs }: { xs: number[]; score: (number | null)[]; threshold: number | null; windowMs: number }) {
  const marks = useMemo(() => score.map((s) => (s !== null && threshold !== null && s > threshold ? s : null)), [score, threshold]);
  const data = useMemo<uPlot.AlignedData>(
    () => (threshold === null ? [xs, score, marks] : [xs, score, marks, xs.map(() => threshold)]),
    [xs, score, marks, threshold],
  );
  const series = [
    { label: 'Anomaly score', stroke: '#c792ea' },
    { label: 'Anomalous', stroke: ANOMALY_COLOR, markers: true },
    ...(threshold === null ? [] : [{ label: `Threshold ${formatScore(threshold)}`, stroke: LIMIT_COLOR, dash: LIMIT_DASH }]),
  ];
  const flagged = marks.filter((m) => m !== null).length;
  return (
    <Chart
      title="Anomaly score (a deviation from normal; no failure labels)"
      data={data}
      series={series}
      xWindowMs={windowMs}
      testId="chart-anomaly"
      summary={`latest ${formatScore(lastOf(score))}, threshold ${formatScore(threshold)}, ${flagged} anomalous`}
    />
  );
}

function Charts({ columns, model, fields, view, windowMs }: ChartsProps) {
  const [xs] = columns;
  const probability = columns[fields.length + 1] ?? [];
  return (
    <div className="charts" data-model-kind={view.kind}>
      {view.kind === 'rul' && <RulChart xs={xs} model={model} spec={view.rul} windowMs={windowMs} />}
      {view.kind === 'anomaly' && <AnomalyChart xs={xs} score={model.anomalyScore} threshold={view.threshold} windowMs={windowMs} />}
      {view.kind === 'classifier' && <ProbabilityChart xs={xs} probability={probability} threshold={view.threshold} windowMs={windowMs} />}
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
  const { columns, model, load, threshold, retry } = useSeries(id, window, names);
  const latest = machine?.latest ?? null;
  const kind = modelKindOf(profile, latest);
  const view: ModelView = {
    kind,
    rul: rulSpec(profile, latest),
    threshold: kind === 'anomaly' ? (latest?.anomaly_threshold ?? null) : (threshold ?? machine?.threshold ?? null),
  };
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
      <Charts columns={columns} model={model} fields={fields} view={view} windowMs={WINDOWS[window].ms} />
    </>
  );
}

/** The header's figures of the model's latest verdict, as its kind gives them. */
function ModelFacts({ kind, profile, latest }: { kind: ModelKind; profile: Profile | undefined; latest: Prediction | null }) {
  if (kind === 'rul') {
    const { unit, horizon } = rulSpec(profile, latest);
    return (
      <>
        <div data-testid="fact-rul">
          <dt>Remaining life</dt>
          <dd>
            {rulText(latest?.rul, unit)} <small>{rulInterval(latest?.rul_low, latest?.rul_high)}</small>
          </dd>
        </div>
        <div data-testid="fact-horizon">
          <dt>Warns under</dt>
          <dd>{rulText(horizon, unit)}</dd>
        </div>
      </>
    );
  }
  if (kind === 'anomaly') {
    return (
      <div data-testid="fact-anomaly">
        <dt>Anomaly score</dt>
        <dd>
          {formatScore(latest?.anomaly_score)} <small>threshold {formatScore(latest?.anomaly_threshold)}</small>
        </dd>
      </div>
    );
  }
  return (
    <>
      <div>
        <dt>Failure probability</dt>
        <dd>{formatPercent(latest?.failure_probability)}</dd>
      </div>
      <div>
        <dt>Predicted mode</dt>
        <dd>{latest?.predicted_mode ? (modeNames(profile)[latest.predicted_mode] ?? latest.predicted_mode) : '—'}</dd>
      </div>
    </>
  );
}

function MachineHeader({ id }: { id: string }) {
  const machine = useMachine(id);
  const profile = useProfile(machine?.profile);
  const latest = machine?.latest ?? null;
  const kind = modelKindOf(profile, latest);
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
      <StatusPill status={machine?.status ?? null} online={machine?.online ?? false} kind={kind} />
      <dl className="machine-facts" data-model-kind={kind}>
        <ModelFacts kind={kind} profile={profile} latest={latest} />
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
