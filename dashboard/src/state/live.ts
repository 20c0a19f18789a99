/**
 * The live picture of every machine, updated by batches of SSE events. Pure: applyEvents
 * returns a new state and shares every machine the batch did not touch, so React.memo'd
 * cards re-render only when their own machine changed.
 *
 * `shown` is what the overview draws. With 50 machines at 10 Hz every card changes in
 * every batch; redrawing all of them at once is one long main-thread task. So each batch
 * refreshes one of STAGGER_GROUPS groups of cards (any card at once when its status,
 * online state or alerts change): the work is spread evenly over the batches.
 */
import type { AlertView, MachineSummary, Prediction, PredictionStatus, StatusEvent } from '../api/client';

/** Failure probabilities kept per machine for the overview's sparkline. */
export const SPARK_POINTS = 120;
/** A card's figures refresh every STAGGER_GROUPS batches (urgent changes at once). */
export const STAGGER_GROUPS = 4;

export type LiveEvent =
  | { kind: 'prediction'; id: number | null; data: Prediction }
  | { kind: 'alert'; id: number | null; data: AlertView }
  | { kind: 'status'; id: number | null; data: StatusEvent };

export interface MachineLive {
  readonly id: string;
  /** Its profile's id (what it measures, how it fails); null until the API names one. */
  readonly profile: string | null;
  readonly online: boolean;
  readonly status: PredictionStatus | null;
  readonly lastSeen: string | null;
  readonly latest: Prediction | null;
  readonly threshold: number | null;
  readonly openAlerts: readonly AlertView[];
  readonly spark: readonly number[];
}

export interface LiveState {
  readonly machines: Readonly<Record<string, MachineLive>>;
  /** Every machine id in natural order (m2 before m10), kept as machines appear: never re-sorted. */
  readonly order: readonly string[];
  /** The overview's staggered copy of `machines` (same objects, refreshed group by group). */
  readonly shown: Readonly<Record<string, MachineLive>>;
  /** Machines whose shown copy is behind (waiting for their group's turn): only they and the
   *  machines a batch touches are looked at, never the whole fleet. */
  readonly behind: readonly string[];
  /** Machines per state over all machines, kept up to date by each batch (see `tally`). */
  readonly totals: Totals;
  readonly lastEventId: number | null;
  readonly applied: number;
  readonly batches: number;
}

export interface Totals extends Counts {
  /** Open alerts over all machines. */
  readonly openAlerts: number;
}

const NO_TOTALS: Totals = { normal: 0, predictive: 0, failure: 0, unscored: 0, waiting: 0, offline: 0, online: 0, total: 0, openAlerts: 0 };

export const EMPTY_LIVE: LiveState = {
  machines: {},
  order: [],
  shown: {},
  behind: [],
  totals: NO_TOTALS,
  lastEventId: null,
  applied: 0,
  batches: 0,
};

export function emptyMachine(id: string): MachineLive {
  return {
    id,
    profile: null,
    online: false,
    status: null,
    lastSeen: null,
    latest: null,
    threshold: null,
    openAlerts: [],
    spark: [],
  };
}

/** A machine being changed by one batch; spark values are gathered and appended once. */
interface Draft {
  machine: { -readonly [K in keyof MachineLive]: MachineLive[K] };
  spark: number[];
}

function later(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

function applyPrediction(draft: Draft, p: Prediction): void {
  const m = draft.machine;
  // An out-of-order or replayed reading must not overwrite a newer one.
  if (m.latest && Date.parse(p.ts) < Date.parse(m.latest.ts)) return;
  m.latest = p;
  m.profile = p.profile;
  m.status = p.status;
  m.threshold = p.threshold;
  m.online = true; // a machine that publishes is online, whatever status event is pending
  m.lastSeen = later(m.lastSeen, p.ts);
  if (p.failure_probability !== null) draft.spark.push(p.failure_probability);
}

function applyAlert(draft: Draft, alert: AlertView): void {
  const m = draft.machine;
  const others = m.openAlerts.filter((a) => a.alert_id !== alert.alert_id);
  m.openAlerts = alert.state === 'open' ? [alert, ...others] : others;
}

function applyStatus(draft: Draft, status: StatusEvent): void {
  draft.machine.online = status.online;
  draft.machine.lastSeen = later(draft.machine.lastSeen, status.ts);
}

function finish(draft: Draft): MachineLive {
  const m = draft.machine;
  if (draft.spark.length > 0) m.spark = m.spark.concat(draft.spark).slice(-SPARK_POINTS);
  return m;
}

/** Apply a batch of events (oldest first) to the state. */
export function applyEvents(state: LiveState, events: readonly LiveEvent[]): LiveState {
  if (events.length === 0) return state;
  const drafts = new Map<string, Draft>();
  const draftOf = (id: string): Draft => {
    let draft = drafts.get(id);
    if (!draft) {
      draft = { machine: { ...(state.machines[id] ?? emptyMachine(id)) }, spark: [] };
      drafts.set(id, draft);
    }
    return draft;
  };
  let lastEventId = state.lastEventId;
  for (const event of events) {
    const draft = draftOf(event.data.machine_id);
    if (event.kind === 'prediction') applyPrediction(draft, event.data);
    else if (event.kind === 'alert') applyAlert(draft, event.data);
    else applyStatus(draft, event.data);
    if (event.id !== null) lastEventId = event.id;
  }
  const machines = { ...state.machines };
  const added: string[] = [];
  const totals = { ...state.totals };
  for (const [id, draft] of drafts) {
    const before = machines[id];
    if (before) tally(totals, before, -1);
    else added.push(id);
    const after = finish(draft);
    tally(totals, after, 1);
    machines[id] = after;
  }
  const order = added.length ? insertInOrder(state.order, added) : state.order;
  const batches = state.batches + 1;
  const { shown, behind } = stagger(state.shown, machines, batches, new Set([...state.behind, ...drafts.keys()]));
  return {
    machines,
    order,
    shown,
    behind,
    totals: sameTotals(totals, state.totals) ? state.totals : totals,
    lastEventId,
    applied: state.applied + events.length,
    batches,
  };
}

/** Add (`sign` 1) or remove (-1) one machine's share of the totals. */
function tally(totals: { -readonly [K in keyof Totals]: number }, m: MachineLive, sign: 1 | -1): void {
  totals.total += sign;
  totals.openAlerts += sign * m.openAlerts.length;
  if (!m.online) {
    totals.offline += sign;
    return;
  }
  totals.online += sign;
  totals[m.status ?? 'waiting'] += sign;
}

function sameTotals(a: Totals, b: Totals): boolean {
  return (Object.keys(a) as (keyof Totals)[]).every((key) => a[key] === b[key]);
}

/** The totals of a whole set of machines (after a snapshot). */
export function totalsOf(machines: Iterable<MachineLive>): Totals {
  const totals = { ...NO_TOTALS };
  for (const m of machines) tally(totals, m, 1);
  return totals;
}

const collator = new Intl.Collator('en', { numeric: true });

/** Machine ids compared naturally: m2 before m10. */
export const compareIds = (a: string, b: string): number => collator.compare(a, b);

/** `order` with `ids` added at their places (a binary search each: a new machine never re-sorts the fleet). */
export function insertInOrder(order: readonly string[], ids: readonly string[]): string[] {
  if (ids.length > 64) return [...new Set([...order, ...ids])].sort(compareIds); // a whole fleet at once
  const next = [...order];
  for (const id of ids) {
    let low = 0;
    let high = next.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareIds(next[mid] ?? '', id) < 0) low = mid + 1;
      else high = mid;
    }
    if (next[low] !== id) next.splice(low, 0, id);
  }
  return next;
}

/** The machines of `record` in the given order (ids missing from it are skipped). */
export function inOrder(order: readonly string[], record: LiveState['machines']): MachineLive[] {
  const out: MachineLive[] = [];
  for (const id of order) {
    const m = record[id];
    if (m) out.push(m);
  }
  return out;
}

/** Group of a machine, stable for its id (a new machine does not shift the others). */
export function groupOf(id: string, groups = STAGGER_GROUPS): number {
  let hash = 0;
  for (let i = 0; i < id.length; i += 1) hash = (hash * 31 + id.charCodeAt(i)) | 0;
  return Math.abs(hash) % groups;
}

function urgent(shown: MachineLive, now: MachineLive): boolean {
  return shown.status !== now.status || shown.online !== now.online || shown.openAlerts !== now.openAlerts;
}

/**
 * Refresh the shown copy of machines whose group's turn it is in this batch, or that
 * changed urgently; other changes wait for their group's turn (at most `groups` batches).
 * Only `candidates` are looked at (the machines this batch touched and those still behind),
 * so the cost follows the changes, not the size of the fleet.
 */
export function stagger(
  shown: LiveState['shown'],
  machines: LiveState['machines'],
  batch: number,
  candidates: Iterable<string>,
  groups = STAGGER_GROUPS,
): { shown: LiveState['shown']; behind: string[] } {
  const next = { ...shown };
  const behind: string[] = [];
  const turn = batch % groups;
  for (const id of candidates) {
    const now = machines[id];
    const old = shown[id];
    if (now === undefined || old === now) continue;
    if (!old || groupOf(id, groups) === turn || urgent(old, now)) next[id] = now;
    else behind.push(id);
  }
  return { shown: next, behind };
}

/** Merge the /api/machines snapshot; live data newer than the snapshot wins. */
export function seedMachines(state: LiveState, summaries: readonly MachineSummary[]): LiveState {
  const machines = { ...state.machines };
  for (const s of summaries) {
    const known = machines[s.machine_id];
    const snapshot: MachineLive = {
      id: s.machine_id,
      profile: s.profile ?? s.latest?.profile ?? known?.profile ?? null,
      online: s.online,
      status: s.status,
      lastSeen: s.last_seen,
      latest: s.latest,
      threshold: s.threshold ?? s.latest?.threshold ?? null,
      openAlerts: s.open_alerts.filter((a) => a.state === 'open'),
      spark: typeof s.latest?.failure_probability === 'number' ? [s.latest.failure_probability] : [],
    };
    const knownIsNewer =
      known?.latest && (!s.latest || Date.parse(known.latest.ts) >= Date.parse(s.latest.ts));
    machines[s.machine_id] = knownIsNewer ? { ...snapshot, ...pickLive(known) } : snapshot;
  }
  const order = Object.keys(machines).sort(compareIds);
  return { ...state, machines, order, shown: machines, behind: [], totals: totalsOf(Object.values(machines)) };
}

function pickLive(m: MachineLive): Partial<MachineLive> {
  return {
    profile: m.profile,
    online: m.online,
    status: m.status,
    lastSeen: m.lastSeen,
    latest: m.latest,
    threshold: m.threshold,
    spark: m.spark,
  };
}

export interface Counts {
  normal: number;
  predictive: number;
  failure: number;
  /** Online machines whose profile has no model yet: their readings are stored and shown, not scored. */
  unscored: number;
  waiting: number;
  offline: number;
  online: number;
  total: number;
}

/** Machines per state for the header: status counts cover online machines only. */
export function countMachines(machines: readonly MachineLive[]): Counts {
  const counts: Counts = { normal: 0, predictive: 0, failure: 0, unscored: 0, waiting: 0, offline: 0, online: 0, total: 0 };
  for (const m of machines) {
    counts.total += 1;
    if (!m.online) {
      counts.offline += 1;
      continue;
    }
    counts.online += 1;
    counts[m.status ?? 'waiting'] += 1;
  }
  return counts;
}

/** Machines in a stable, natural order (m2 before m10) so cards never jump around. */
export function sortedMachines(machines: LiveState['machines']): MachineLive[] {
  return Object.values(machines).sort((a, b) => compareIds(a.id, b.id));
}
