import { useMemo, useState } from 'react';
import type { KeyboardEvent } from 'react';
import type { Prediction, PredictionStatus, Profile } from '../api/client';
import { Empty, ErrorState } from '../components/States';
import { STATUS_LABEL, StatusPill } from '../components/StatusPill';
import { predictionFigure } from '../state/modelKind';
import { useLive, useMachineIds } from '../live/hooks';
import { useProfiles } from '../live/profiles';
import { formatDateTime, formatNumber, formatPercent } from '../state/format';
import type { FieldMeta, ProfileMap } from '../state/profiles';
import { labelWithUnit, sharedNumericFields, valueSummary } from '../state/profiles';
import type { LogFilters } from '../state/logQuery';
import { NO_FILTERS, buildExportHref } from '../state/logQuery';
import { ReadingModal } from './ReadingModal';
import { useLog } from './useLog';

function ProfileFilter({ value, onChange }: { value: string; onChange: (profile: string) => void }) {
  const profiles = Object.values(useProfiles());
  if (profiles.length < 2 && !value) return null;
  return (
    <label>
      Profile
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid="filter-profile">
        <option value="">All</option>
        {profiles.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Filters({ value, onChange }: { value: LogFilters; onChange: (f: LogFilters) => void }) {
  const machines = useMachineIds();
  const options = value.machine && !machines.includes(value.machine) ? [value.machine, ...machines] : machines;
  const set = <K extends keyof LogFilters>(key: K, v: LogFilters[K]) => onChange({ ...value, [key]: v });
  return (
    <form className="filters" aria-label="Log filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        Status
        <select value={value.status} onChange={(e) => set('status', e.target.value as PredictionStatus | '')} data-testid="filter-status">
          <option value="">All</option>
          {(Object.keys(STATUS_LABEL) as PredictionStatus[]).map((s) => (
            <option key={s} value={s}>
              {STATUS_LABEL[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Machine
        <select value={value.machine} onChange={(e) => set('machine', e.target.value)} data-testid="filter-machine">
          <option value="">All</option>
          {options.map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
        </select>
      </label>
      <ProfileFilter value={value.profile} onChange={(profile) => set('profile', profile)} />
      <label>
        From
        <input type="datetime-local" value={value.since} onChange={(e) => set('since', e.target.value)} data-testid="filter-since" />
      </label>
      <label>
        To
        <input type="datetime-local" value={value.until} onChange={(e) => set('until', e.target.value)} data-testid="filter-until" />
      </label>
      <button type="button" onClick={() => onChange(NO_FILTERS)} data-testid="filter-clear">
        Clear filters
      </button>
    </form>
  );
}

interface RowProps {
  item: Prediction;
  /** The value columns (null: one summary cell, the rows' profiles differ). */
  columns: readonly FieldMeta[] | null;
  profiles: ProfileMap;
  onOpen: (p: Prediction) => void;
}

function ValueCells({ item, columns, profiles }: Omit<RowProps, 'onOpen'>) {
  if (columns === null) return <td className="hide-narrow">{valueSummary(profiles[item.profile], item.values)}</td>;
  return (
    <>
      {columns.map((f) => {
        const value = item.values[f.name];
        return (
          <td key={f.name} className="num hide-narrow" data-field={f.name}>
            {formatNumber(typeof value === 'number' ? value : null, f.decimals)}
          </td>
        );
      })}
    </>
  );
}

function LogRow({ item, columns, profiles, onOpen }: RowProps) {
  const onKeyDown = (event: KeyboardEvent<HTMLTableRowElement>) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onOpen(item);
    }
  };
  return (
    <tr
      tabIndex={0}
      className={`log-row row-${item.status}`}
      data-testid="log-row"
      data-status={item.status}
      data-machine={item.machine_id}
      data-reading-id={item.reading_id}
      onClick={() => onOpen(item)}
      onKeyDown={onKeyDown}
      aria-label={`${item.machine_id} ${formatDateTime(item.ts)}, ${item.status}, ${item.model_kind === 'classifier' ? 'probability ' : ''}${predictionFigure(item, formatPercent)}. Press Enter for details.`}
    >
      <td>{formatDateTime(item.ts)}</td>
      <td>{item.machine_id}</td>
      <td>
        <StatusPill status={item.status} kind={item.model_kind} />
      </td>
      <td className="num" data-testid="log-figure">
        {predictionFigure(item, formatPercent)}
      </td>
      <td>{item.predicted_mode ?? '—'}</td>
      <ValueCells item={item} columns={columns} profiles={profiles} />
    </tr>
  );
}

/** The profiles the table's rows can have: the filter's, the filtered machine's, or those of the rows shown. */
function useShownProfiles(items: readonly Prediction[], filters: LogFilters): (Profile | undefined)[] {
  const profiles = useProfiles();
  const live = useLive();
  return useMemo(() => {
    const machineProfile = filters.machine ? live.machines[filters.machine]?.profile : null;
    const ids = filters.profile ? [filters.profile] : machineProfile ? [machineProfile] : [...new Set(items.map((i) => i.profile))];
    return ids.map((id) => profiles[id]);
  }, [items, filters.profile, filters.machine, live.machines, profiles]);
}

function LogTable({ items, filters, onOpen }: { items: Prediction[]; filters: LogFilters; onOpen: (p: Prediction) => void }) {
  const profiles = useProfiles();
  const shown = useShownProfiles(items, filters);
  const shared = sharedNumericFields(shown);
  const columns = shared.length > 0 ? shared : null;
  return (
    <div className="table-wrap">
      <table className="log-table" data-testid="log-table">
        <caption className="visually-hidden">Scored readings, newest first. Select a row for details.</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Machine</th>
            <th scope="col">Status</th>
            <th scope="col" title="failure probability, remaining life or anomaly score, as the machine's model gives">
              Probability / RUL / score
            </th>
            <th scope="col">Mode</th>
            {columns === null ? (
              <th scope="col" className="hide-narrow">
                Values
              </th>
            ) : (
              columns.map((f) => (
                <th key={f.name} scope="col" className="hide-narrow" data-testid={`log-column-${f.name}`}>
                  {labelWithUnit(f)}
                </th>
              ))
            )}
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <LogRow key={`${item.machine_id}/${item.reading_id}`} item={item} columns={columns} profiles={profiles} onOpen={onOpen} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function LogView() {
  const [filters, setFilters] = useState<LogFilters>(NO_FILTERS);
  const [open, setOpen] = useState<Prediction | null>(null);
  const { pages, loadMore, refresh } = useLog(filters);
  const exportHref = buildExportHref(filters);
  const filtered = Object.values(filters).some(Boolean);
  return (
    <section aria-labelledby="log-title">
      <div className="page-head">
        <h1 id="log-title" className="page-title">
          Log
        </h1>
        <div className="page-actions">
          <button type="button" onClick={refresh} data-testid="log-refresh">
            Refresh
          </button>
          {exportHref && (
            <a className="button" href={exportHref} download data-testid="log-export">
              Export CSV
            </a>
          )}
        </div>
      </div>
      <Filters value={filters} onChange={setFilters} />
      {pages.error && <ErrorState title="Cannot load the log" message={pages.error} onRetry={refresh} status={pages.errorStatus} />}
      {pages.items.length > 0 && <LogTable items={pages.items} filters={filters} onOpen={setOpen} />}
      {!pages.error && !pages.loading && pages.items.length === 0 && (
        <Empty title={filtered ? 'No readings match these filters' : 'No readings yet'}>
          <p>{filtered ? 'Widen the time range or clear the filters.' : 'Readings appear here once a publisher runs and the worker scores them.'}</p>
        </Empty>
      )}
      <div className="log-foot" aria-live="polite">
        <span className="muted" data-testid="log-count">
          {pages.items.length} reading{pages.items.length === 1 ? '' : 's'} shown
        </span>
        {pages.loading && <span className="muted">Loading…</span>}
        {pages.nextCursor && !pages.loading && (
          <button type="button" onClick={loadMore} data-testid="log-load-more">
            Load more
          </button>
        )}
      </div>
      {open && <ReadingModal row={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
