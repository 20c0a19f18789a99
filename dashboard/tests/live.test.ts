import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '../src/state/live';
import {
  EMPTY_LIVE,
  SPARK_POINTS,
  STAGGER_GROUPS,
  applyEvents,
  countMachines,
  groupOf,
  seedMachines,
  sortedMachines,
} from '../src/state/live';
import { alertView, prediction, predictionEvent, summary } from './fixtures';

describe('applyEvents', () => {
  it('returns the same state for an empty batch', () => {
    expect(applyEvents(EMPTY_LIVE, [])).toBe(EMPTY_LIVE);
  });

  it('creates machines from their first event and keeps the newest prediction', () => {
    const events = [predictionEvent(prediction('a', 1), 7), predictionEvent(prediction('a', 3), 8), predictionEvent(prediction('b', 2), 9)];
    const state = applyEvents(EMPTY_LIVE, events);
    expect(Object.keys(state.machines).sort()).toEqual(['a', 'b']);
    expect(state.machines.a?.latest?.reading_id).toBe('a-3');
    expect(state.machines.a?.online).toBe(true);
    expect(state.machines.a?.spark).toHaveLength(2);
    expect(state.lastEventId).toBe(9);
    expect(state.applied).toBe(3);
  });

  it('ignores a prediction older than the one shown (replay, out of order)', () => {
    const state = applyEvents(EMPTY_LIVE, [predictionEvent(prediction('a', 5, { status: 'failure' })), predictionEvent(prediction('a', 4, { status: 'normal' }))]);
    expect(state.machines.a?.latest?.reading_id).toBe('a-5');
    expect(state.machines.a?.status).toBe('failure');
    expect(state.machines.a?.spark).toHaveLength(1);
  });

  it('caps the sparkline at SPARK_POINTS, keeping the newest values', () => {
    const events = Array.from({ length: SPARK_POINTS + 30 }, (_, i) => predictionEvent(prediction('a', i, { failure_probability: i / 1000 })));
    const spark = applyEvents(EMPTY_LIVE, events).machines.a?.spark ?? [];
    expect(spark).toHaveLength(SPARK_POINTS);
    expect(spark.at(-1)).toBe((SPARK_POINTS + 29) / 1000);
    expect(spark[0]).toBe(30 / 1000);
  });

  it('shares untouched machines so memoised cards do not re-render', () => {
    const first = applyEvents(EMPTY_LIVE, [predictionEvent(prediction('a', 1)), predictionEvent(prediction('b', 1))]);
    const second = applyEvents(first, [predictionEvent(prediction('a', 2))]);
    expect(second.machines.b).toBe(first.machines.b);
    expect(second.machines.a).not.toBe(first.machines.a);
    expect(first.machines.a?.latest?.reading_id).toBe('a-1'); // the old state is not mutated
  });

  it('tracks online status and open alerts', () => {
    const events: LiveEvent[] = [
      predictionEvent(prediction('a', 1)),
      { kind: 'alert', id: 2, data: alertView('a', 'x1') },
      { kind: 'alert', id: 3, data: alertView('a', 'x2') },
      { kind: 'alert', id: 4, data: alertView('a', 'x1', { state: 'cleared', cleared_at: '2026-11-27T08:20:00Z' }) },
      { kind: 'status', id: 5, data: { machine_id: 'a', online: false, ts: '2026-11-27T08:21:00.000Z' } },
    ];
    const a = applyEvents(EMPTY_LIVE, events).machines.a;
    expect(a?.openAlerts.map((x) => x.alert_id)).toEqual(['x2']);
    expect(a?.online).toBe(false);
    expect(a?.lastSeen).toBe('2026-11-27T08:21:00.000Z');
  });
});

describe('seedMachines', () => {
  it('adds the snapshot but keeps live data that is newer', () => {
    const live = applyEvents(EMPTY_LIVE, [predictionEvent(prediction('a', 10, { status: 'failure' }))]);
    const seeded = seedMachines(live, [summary('a', prediction('a', 5, { status: 'normal' })), summary('b', null, { online: false })]);
    expect(seeded.machines.a?.latest?.reading_id).toBe('a-10');
    expect(seeded.machines.a?.status).toBe('failure');
    expect(seeded.machines.b?.online).toBe(false);
    expect(seeded.machines.b?.status).toBeNull();
  });

  it('takes a newer snapshot over older live data', () => {
    const live = applyEvents(EMPTY_LIVE, [predictionEvent(prediction('a', 1))]);
    const seeded = seedMachines(live, [summary('a', prediction('a', 9), { open_alerts: [alertView('a', 'z')] })]);
    expect(seeded.machines.a?.latest?.reading_id).toBe('a-9');
    expect(seeded.machines.a?.openAlerts).toHaveLength(1);
  });
});

describe('counts and order', () => {
  it('counts statuses of online machines and offline ones apart', () => {
    const state = applyEvents(EMPTY_LIVE, [
      predictionEvent(prediction('m1', 1, { status: 'normal' })),
      predictionEvent(prediction('m2', 1, { status: 'failure' })),
      predictionEvent(prediction('m3', 1, { status: 'failure' })),
      { kind: 'status', id: null, data: { machine_id: 'm3', online: false, ts: '2026-11-27T09:00:00Z' } },
      { kind: 'status', id: null, data: { machine_id: 'm4', online: true, ts: '2026-11-27T09:00:00Z' } },
    ]);
    expect(countMachines(sortedMachines(state.machines))).toEqual({ normal: 1, predictive: 0, failure: 1, unscored: 0, waiting: 1, offline: 1, online: 3, total: 4 });
  });

  it('orders machines naturally', () => {
    const state = applyEvents(EMPTY_LIVE, ['m10', 'm2', 'a', 'm1'].map((id) => predictionEvent(prediction(id, 1))));
    expect(sortedMachines(state.machines).map((m) => m.id)).toEqual(['a', 'm1', 'm2', 'm10']);
  });
});

describe('stagger (the overview redraws a quarter of the cards per batch)', () => {
  const ids = Array.from({ length: 50 }, (_, i) => `m${i + 1}`);
  const batchAt = (second: number, patch = {}) => ids.map((id) => predictionEvent(prediction(id, second, patch)));

  it('shows a new machine at once', () => {
    const state = applyEvents(EMPTY_LIVE, batchAt(1));
    expect(Object.keys(state.shown)).toHaveLength(50);
    expect(state.shown.m7).toBe(state.machines.m7);
  });

  it('refreshes only the group whose turn it is when every machine changed', () => {
    let state = applyEvents(EMPTY_LIVE, batchAt(1));
    const before = state.shown;
    state = applyEvents(state, batchAt(2));
    const refreshed = ids.filter((id) => state.shown[id] !== before[id]);
    const turn = state.batches % STAGGER_GROUPS;
    expect(refreshed.length).toBeGreaterThan(0);
    expect(refreshed.length).toBeLessThan(30);
    expect(refreshed.every((id) => groupOf(id) === turn)).toBe(true);
    expect(ids.filter((id) => groupOf(id) === turn).every((id) => refreshed.includes(id))).toBe(true);
  });

  it('shows every change within STAGGER_GROUPS batches', () => {
    let state = applyEvents(EMPTY_LIVE, batchAt(1));
    state = applyEvents(state, batchAt(2));
    for (let i = 0; i < STAGGER_GROUPS - 1; i += 1) state = applyEvents(state, [predictionEvent(prediction('other', i))]);
    expect(ids.every((id) => state.shown[id] === state.machines[id])).toBe(true);
  });

  it('shows a status change at once, whatever the group', () => {
    let state = applyEvents(EMPTY_LIVE, batchAt(1, { status: 'normal' }));
    const late = ids.find((id) => groupOf(id) !== (state.batches + 1) % STAGGER_GROUPS) ?? 'm1';
    state = applyEvents(state, [predictionEvent(prediction(late, 2, { status: 'failure' }))]);
    expect(state.shown[late]?.status).toBe('failure');
  });

  it('keeps the shown object when a machine did not change', () => {
    const first = applyEvents(EMPTY_LIVE, batchAt(1));
    const second = applyEvents(first, [predictionEvent(prediction('m1', 2))]);
    expect(second.shown.m2).toBe(first.shown.m2);
  });
});
