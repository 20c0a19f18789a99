/**
 * The overview at fleet scale, as pure functions: which machines need attention and in what
 * order, what the search and the filters keep, which profiles there are, and the filter's
 * place in the URL (so a filtered overview survives a visit to a machine and can be shared).
 *
 * Everything here is O(machines) per call and runs once per applied batch of live events;
 * nothing sorts the whole fleet (its natural order is kept in the live state, see live.ts).
 */
import type { MachineLive } from './live';

/** What the status filter can keep. `attention` = anything on the needs-attention list. */
export const STATUS_FILTERS = ['all', 'attention', 'failure', 'predictive', 'alerts', 'normal', 'unscored', 'offline', 'waiting'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export const STATUS_FILTER_LABELS: Readonly<Record<StatusFilter, string>> = {
  all: 'All machines',
  attention: 'Needs attention',
  failure: 'Failure',
  predictive: 'Failure predicted',
  alerts: 'Open alerts',
  normal: 'Normal',
  unscored: 'Not scored (no model)',
  offline: 'Offline',
  waiting: 'No reading yet',
};

export interface OverviewFilter {
  /** Part of a machine id, any case. */
  readonly query: string;
  readonly status: StatusFilter;
  /** A profile id, or null for every profile. */
  readonly profile: string | null;
}

export const NO_FILTER: OverviewFilter = { query: '', status: 'all', profile: null };

/**
 * How urgently a machine needs someone, lower first; null when it does not.
 * A failure now beats an open alert, which beats a predicted failure, which beats silence.
 */
export function attentionRank(m: MachineLive): number | null {
  if (m.online && m.status === 'failure') return 0;
  if (m.openAlerts.length > 0) return 1;
  if (m.online && m.status === 'predictive') return 2;
  if (!m.online && m.lastSeen !== null) return 3;
  return null;
}

function probability(m: MachineLive): number {
  return m.latest?.failure_probability ?? 0;
}

/**
 * The machines that need attention, most urgent first: by rank, then the higher failure
 * probability, then in the fleet's order (`machines` comes in that order; the sort is stable).
 */
export function needsAttention(machines: readonly MachineLive[]): MachineLive[] {
  const ranked: { m: MachineLive; rank: number }[] = [];
  for (const m of machines) {
    const rank = attentionRank(m);
    if (rank !== null) ranked.push({ m, rank });
  }
  ranked.sort((a, b) => a.rank - b.rank || probability(b.m) - probability(a.m));
  return ranked.map((r) => r.m);
}

function matchesStatus(m: MachineLive, status: StatusFilter): boolean {
  switch (status) {
    case 'all':
      return true;
    case 'attention':
      return attentionRank(m) !== null;
    case 'alerts':
      return m.openAlerts.length > 0;
    case 'offline':
      return !m.online;
    case 'waiting':
      return m.online && m.status === null;
    default:
      return m.online && m.status === status;
  }
}

/** The machines the filter keeps, in their given order. */
export function filterMachines(machines: readonly MachineLive[], filter: OverviewFilter): MachineLive[] {
  const query = filter.query.trim().toLowerCase();
  if (!query && filter.status === 'all' && filter.profile === null) return [...machines];
  return machines.filter(
    (m) =>
      (!query || m.id.toLowerCase().includes(query)) &&
      (filter.profile === null || m.profile === filter.profile) &&
      matchesStatus(m, filter.status),
  );
}

/** The profiles of the fleet, sorted (machines not yet bound to one are left out). */
export function profilesOf(machines: readonly MachineLive[]): string[] {
  const seen = new Set<string>();
  for (const m of machines) if (m.profile !== null) seen.add(m.profile);
  return [...seen].sort();
}

function isStatusFilter(value: string | null): value is StatusFilter {
  return value !== null && (STATUS_FILTERS as readonly string[]).includes(value);
}

/** The filter in an overview hash (`#/?q=press&status=failure&profile=ai4i-mill`); unknown values are ignored. */
export function parseOverviewQuery(hash: string): OverviewFilter {
  const at = hash.indexOf('?');
  if (at < 0) return NO_FILTER;
  const params = new URLSearchParams(hash.slice(at + 1));
  const status = params.get('status');
  return {
    query: params.get('q') ?? '',
    status: isStatusFilter(status) ? status : 'all',
    profile: params.get('profile') || null,
  };
}

/** The overview's hash for a filter (`#/` when nothing is filtered). */
export function overviewHash(filter: OverviewFilter): string {
  const params = new URLSearchParams();
  if (filter.query) params.set('q', filter.query);
  if (filter.status !== 'all') params.set('status', filter.status);
  if (filter.profile !== null) params.set('profile', filter.profile);
  const query = params.toString();
  return query ? `#/?${query}` : '#/';
}

/** Columns of cards that fit `width` pixels (at least one). */
export function columnsFor(width: number, minCard: number, gap: number): number {
  return Math.max(1, Math.floor((width + gap) / (minCard + gap)));
}
