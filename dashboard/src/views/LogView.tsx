import { useState } from 'react';
import type { KeyboardEvent } from 'react';
import type { Prediction, PredictionStatus } from '../api/client';
import { Empty, ErrorState } from '../components/States';
import { STATUS_LABEL, StatusPill } from '../components/StatusPill';
import { useMachineIds } from '../live/hooks';
import { formatDateTime, formatNumber, formatPercent } from '../state/format';
import type { LogFilters } from '../state/logQuery';
import { NO_FILTERS, buildExportHref } from '../state/logQuery';
import { ReadingModal } from './ReadingModal';
import { useLog } from './useLog';

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

function LogRow({ item, onOpen }: { item: Prediction; onOpen: (p: Prediction) => void }) {
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
      aria-label={`${item.machine_id} ${formatDateTime(item.ts)}, ${item.status}, probability ${formatPercent(item.failure_probability)}. Press Enter for details.`}
    >
      <td>{formatDateTime(item.ts)}</td>
      <td>{item.machine_id}</td>
      <td>
        <StatusPill status={item.status} />
      </td>
      <td className="num">{formatPercent(item.failure_probability)}</td>
      <td>{item.predicted_mode ?? '—'}</td>
      <td className="num hide-narrow">{formatNumber(item.air_temp_k, 1)}</td>
      <td className="num hide-narrow">{formatNumber(item.process_temp_k, 1)}</td>
      <td className="num hide-narrow">{formatNumber(item.rotational_speed_rpm, 0)}</td>
      <td className="num hide-narrow">{formatNumber(item.torque_nm, 1)}</td>
      <td className="num hide-narrow">{formatNumber(item.tool_wear_min, 0)}</td>
    </tr>
  );
}

function LogTable({ items, onOpen }: { items: Prediction[]; onOpen: (p: Prediction) => void }) {
  return (
    <div className="table-wrap">
      <table className="log-table" data-testid="log-table">
        <caption className="visually-hidden">Scored readings, newest first. Select a row for details.</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Machine</th>
            <th scope="col">Status</th>
            <th scope="col">Probability</th>
            <th scope="col">Mode</th>
            <th scope="col" className="hide-narrow">Air K</th>
            <th scope="col" className="hide-narrow">Process K</th>
            <th scope="col" className="hide-narrow">rpm</th>
            <th scope="col" className="hide-narrow">Torque Nm</th>
            <th scope="col" className="hide-narrow">Wear min</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <LogRow key={`${item.machine_id}/${item.reading_id}`} item={item} onOpen={onOpen} />
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
      {pages.items.length > 0 && <LogTable items={pages.items} onOpen={setOpen} />}
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
