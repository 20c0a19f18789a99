import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '../src/state/live';
import { LiveStore } from '../src/live/store';
import { prediction, predictionEvent, summary } from './fixtures';

/** A scheduler the test runs by hand, standing in for requestAnimationFrame. */
function manualFrames() {
  const pending: (() => void)[] = [];
  return {
    schedule: (flush: () => void) => pending.push(flush),
    runFrame: () => pending.splice(0).forEach((f) => f()),
    get waiting() {
      return pending.length;
    },
  };
}

describe('LiveStore batching', () => {
  it('applies a burst of events in one frame with one notification', () => {
    const frames = manualFrames();
    const store = new LiveStore(frames.schedule);
    let notified = 0;
    const batches: (readonly LiveEvent[])[] = [];
    store.subscribe(() => (notified += 1));
    store.onBatch((b) => batches.push(b));

    for (let i = 0; i < 500; i += 1) store.enqueue(predictionEvent(prediction(`m${i % 50}`, i), i + 1));
    expect(frames.waiting).toBe(1);
    expect(store.getState().applied).toBe(0);

    frames.runFrame();
    expect(notified).toBe(1);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(500);
    expect(Object.keys(store.getState().machines)).toHaveLength(50);
    expect(store.getState().lastEventId).toBe(500);
  });

  it('schedules again only after a flush', () => {
    const frames = manualFrames();
    const store = new LiveStore(frames.schedule);
    store.enqueue(predictionEvent(prediction('a', 1)));
    frames.runFrame();
    store.enqueue(predictionEvent(prediction('a', 2)));
    store.enqueue(predictionEvent(prediction('a', 3)));
    expect(frames.waiting).toBe(1);
    frames.runFrame();
    expect(store.getState().machines.a?.latest?.reading_id).toBe('a-3');
  });

  it('keeps the state object when nothing was queued', () => {
    const store = new LiveStore(() => undefined);
    const before = store.getState();
    store.flush();
    expect(store.getState()).toBe(before);
  });

  it('marks the snapshot ready when seeded', () => {
    const store = new LiveStore(() => undefined);
    expect(store.snapshot.phase).toBe('loading');
    store.seed([summary('a', prediction('a', 1))]);
    expect(store.snapshot.phase).toBe('ready');
    expect(store.getState().machines.a?.latest?.reading_id).toBe('a-1');
  });
});
