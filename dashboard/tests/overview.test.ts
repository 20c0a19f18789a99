import { describe, expect, it } from 'vitest';
import { LiveStore } from '../src/live/store';
import type { MachineLive } from '../src/state/live';
import { EMPTY_LIVE, applyEvents, inOrder, insertInOrder, seedMachines } from '../src/state/live';
import {
  NO_FILTER,
  attentionRank,
  columnsFor,
  filterMachines,
  needsAttention,
  overviewHash,
  parseOverviewQuery,
  profilesOf,
} from '../src/state/overview';
import { alertView, prediction, predictionEvent, summary } from './fixtures';

/** A machine as the overview sees it, from the contract's example prediction. */
function machine(id: string, patch: Partial<MachineLive> = {}): MachineLive {
  const latest = prediction(id, 1, { status: patch.status ?? 'normal', failure_probability: 0.1 });
  return {
    id,
    profile: 'ai4i-mill',
    online: true,
    status: 'normal',
    lastSeen: latest.ts,
    latest,
    threshold: latest.threshold,
    openAlerts: [],
    spark: [],
    ...patch,
  };
}

function withProbability(m: MachineLive, p: number): MachineLive {
  return { ...m, latest: m.latest ? { ...m.latest, failure_probability: p } : null };
}

describe('needs attention', () => {
  it('ranks a failure now, then open alerts, then predicted failures, then silent machines', () => {
    expect(attentionRank(machine('a', { status: 'failure' }))).toBe(0);
    expect(attentionRank(machine('b', { openAlerts: [alertView('b', 'x')] }))).toBe(1);
    expect(attentionRank(machine('c', { status: 'predictive' }))).toBe(2);
    expect(attentionRank(machine('d', { online: false }))).toBe(3);
    expect(attentionRank(machine('e'))).toBeNull();
    // never heard of: nothing to attend to yet
    expect(attentionRank(machine('f', { online: false, lastSeen: null, latest: null, status: null }))).toBeNull();
    // an offline machine whose last reading was a failure is offline first (its status is stale)
    expect(attentionRank(machine('g', { online: false, status: 'failure' }))).toBe(3);
  });

  it('sorts by urgency, then the higher probability, then the fleet order', () => {
    const fleet = [
      machine('m1'),
      machine('m2', { online: false }),
      withProbability(machine('m3', { status: 'predictive' }), 0.5),
      withProbability(machine('m4', { status: 'failure' }), 0.8),
      withProbability(machine('m5', { status: 'predictive' }), 0.7),
      withProbability(machine('m6', { status: 'failure' }), 0.95),
      machine('m7', { openAlerts: [alertView('m7', 'x')] }),
      withProbability(machine('m8', { status: 'predictive' }), 0.5),
    ];
    expect(needsAttention(fleet).map((m) => m.id)).toEqual(['m6', 'm4', 'm7', 'm5', 'm3', 'm8', 'm2']);
  });

  it('keeps up with 2,000 machines without sorting the fleet', () => {
    const fleet = Array.from({ length: 2000 }, (_, i) =>
      machine(`m${i}`, { status: i % 50 === 0 ? 'failure' : i % 20 === 0 ? 'predictive' : 'normal' }),
    );
    const urgent = needsAttention(fleet);
    expect(urgent).toHaveLength(40 + 100 - 20);
    expect(urgent.slice(0, 40).every((m) => m.status === 'failure')).toBe(true);
    expect(urgent[0]?.id).toBe('m0'); // equal rank and probability: fleet order
  });
});

describe('search and filters', () => {
  const fleet = [
    machine('press-1'),
    machine('press-2', { status: 'failure' }),
    machine('Lathe-10', { profile: 'turbofan', status: 'predictive' }),
    machine('lathe-2', { profile: 'turbofan', online: false }),
    machine('mill-3', { profile: null, status: null, latest: null }),
    machine('mill-4', { openAlerts: [alertView('mill-4', 'y')] }),
  ];
  const ids = (filter: Partial<typeof NO_FILTER>) => filterMachines(fleet, { ...NO_FILTER, ...filter }).map((m) => m.id);

  it('keeps everything, in order, when nothing is filtered', () => {
    expect(ids({})).toEqual(fleet.map((m) => m.id));
  });

  it('finds machines by part of their id, in any case', () => {
    expect(ids({ query: 'LATHE' })).toEqual(['Lathe-10', 'lathe-2']);
    expect(ids({ query: ' press-2 ' })).toEqual(['press-2']);
    expect(ids({ query: 'nothing' })).toEqual([]);
  });

  it('filters by status, attention, alerts, offline and no reading yet', () => {
    expect(ids({ status: 'failure' })).toEqual(['press-2']);
    expect(ids({ status: 'predictive' })).toEqual(['Lathe-10']);
    expect(ids({ status: 'offline' })).toEqual(['lathe-2']);
    expect(ids({ status: 'alerts' })).toEqual(['mill-4']);
    expect(ids({ status: 'waiting' })).toEqual(['mill-3']);
    expect(ids({ status: 'attention' })).toEqual(['press-2', 'Lathe-10', 'lathe-2', 'mill-4']);
    expect(ids({ status: 'normal' })).toEqual(['press-1', 'mill-4']);
  });

  it('filters by profile and combines the filters', () => {
    expect(ids({ profile: 'turbofan' })).toEqual(['Lathe-10', 'lathe-2']);
    expect(ids({ profile: 'turbofan', status: 'offline', query: 'lathe' })).toEqual(['lathe-2']);
    expect(profilesOf(fleet)).toEqual(['ai4i-mill', 'turbofan']);
  });

  it('keeps the filter in the overview hash and ignores what it does not know', () => {
    const filter = { query: 'press 7', status: 'failure', profile: 'ai4i-mill' } as const;
    expect(overviewHash(filter)).toBe('#/?q=press+7&status=failure&profile=ai4i-mill');
    expect(parseOverviewQuery(overviewHash(filter))).toEqual(filter);
    expect(overviewHash(NO_FILTER)).toBe('#/');
    expect(parseOverviewQuery('#/')).toEqual(NO_FILTER);
    expect(parseOverviewQuery('#/?status=bogus&q=x')).toEqual({ query: 'x', status: 'all', profile: null });
  });

  it('fits as many card columns as the width allows, at least one', () => {
    expect(columnsFor(1600, 250, 12)).toBe(6);
    expect(columnsFor(1000, 250, 12)).toBe(3);
    expect(columnsFor(200, 250, 12)).toBe(1);
  });
});

describe('the fleet order in the live state', () => {
  it('inserts new machines at their natural place without re-sorting', () => {
    expect(insertInOrder(['m1', 'm2', 'm10'], ['m3', 'a', 'm20', 'm2'])).toEqual(['a', 'm1', 'm2', 'm3', 'm10', 'm20']);
  });

  it('is kept by batches and by the snapshot, and gives the machines in that order', () => {
    let state = applyEvents(EMPTY_LIVE, ['m10', 'm2'].map((id) => predictionEvent(prediction(id, 1))));
    expect(state.order).toEqual(['m2', 'm10']);
    const before = state.order;
    state = applyEvents(state, [predictionEvent(prediction('m2', 2))]);
    expect(state.order).toBe(before); // no new machine: the same array, so nothing re-renders for it
    state = applyEvents(state, [predictionEvent(prediction('m1', 3))]);
    expect(state.order).toEqual(['m1', 'm2', 'm10']);
    state = seedMachines(state, [summary('m0', prediction('m0', 1))]);
    expect(state.order).toEqual(['m0', 'm1', 'm2', 'm10']);
    expect(inOrder(state.order, state.shown).map((m) => m.id)).toEqual(['m0', 'm1', 'm2', 'm10']);
  });

  it('learns each machine profile from the machine list, its latest prediction, or a live prediction', () => {
    const listed = { ...summary('a', prediction('a', 1)), profile: 'turbofan' };
    const unnamed = summary('b', prediction('b', 1), { profile: null }); // the latest prediction names it
    let state = seedMachines(EMPTY_LIVE, [listed, unnamed, summary('c', null)]);
    expect(state.machines.a?.profile).toBe('turbofan');
    expect(state.machines.b?.profile).toBe('ai4i-mill');
    expect(state.machines.c?.profile).toBeNull();
    state = applyEvents(state, [predictionEvent({ ...prediction('c', 2), profile: 'fan' })]);
    expect(state.machines.c?.profile).toBe('fan');
    state = seedMachines(state, [summary('c', null)]); // a snapshot that has not heard it yet forgets nothing
    expect(state.machines.c?.profile).toBe('fan');
  });
});

describe('the totals follow every batch without a pass over the fleet', () => {
  it('moves a machine between states and counts open alerts', () => {
    let state = seedMachines(EMPTY_LIVE, [summary('a', prediction('a', 1)), summary('b', prediction('b', 1))]);
    expect(state.totals).toMatchObject({ total: 2, online: 2, normal: 0, failure: 2, openAlerts: 0 }); // the example is a failure
    state = applyEvents(state, [
      predictionEvent(prediction('a', 2, { status: 'normal' })),
      predictionEvent(prediction('c', 2, { status: 'predictive' })),
      predictionEvent(prediction('d', 2, { profile: 'fan', status: 'unscored', failure_probability: null, model_version: null, threshold: null })),
      { kind: 'alert', id: 9, data: alertView('b', 'x') },
      { kind: 'status', id: 10, data: { machine_id: 'b', online: false, ts: '2026-11-27T08:20:00.000Z' } },
    ]);
    expect(state.totals).toEqual({ normal: 1, predictive: 1, failure: 0, unscored: 1, waiting: 0, offline: 1, online: 3, total: 4, openAlerts: 1 });
    const same = applyEvents(state, [predictionEvent(prediction('a', 3, { status: 'normal' }))]);
    expect(same.totals).toBe(state.totals); // unchanged counts: the same object, nothing re-renders for them
  });
});

describe('live updates are coalesced per frame', () => {
  it('turns 2,000 machines x 1 reading into one state change and one notification per frame', () => {
    const frames: (() => void)[] = [];
    const store = new LiveStore((flush) => frames.push(flush));
    let notified = 0;
    store.subscribe(() => (notified += 1));
    for (let i = 0; i < 2000; i += 1) store.enqueue(predictionEvent(prediction(`m${i}`, 1), i + 1));
    expect(frames).toHaveLength(1);
    frames.splice(0).forEach((flush) => flush());
    expect(notified).toBe(1);
    expect(store.getState().order).toHaveLength(2000);
    expect(store.getState().order.slice(0, 3)).toEqual(['m0', 'm1', 'm2']);
    expect(store.getState().order.at(-1)).toBe('m1999');
  });
});
