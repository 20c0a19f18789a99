// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_INTERVAL_MS, LiveStore, frameScheduler } from '../src/live/store';
import { prediction, predictionEvent } from './fixtures';

afterEach(() => {
  vi.useRealTimers();
});

describe('frameScheduler', () => {
  it('flushes on an animation frame, at most once per interval', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'requestAnimationFrame', 'performance'] });
    const store = new LiveStore(frameScheduler());
    let renders = 0;
    store.subscribe(() => (renders += 1));
    // 500 events/s for 2 s, delivered every 10 ms
    for (let t = 0; t < 2000; t += 10) {
      for (let i = 0; i < 5; i += 1) store.enqueue(predictionEvent(prediction(`m${i}`, t / 1000 + i / 100)));
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS + 50);
    expect(store.getState().applied).toBe(1000);
    // one flush per interval, landing on the next frame (16 ms at most later)
    expect(renders).toBeGreaterThanOrEqual(Math.floor(2000 / (FLUSH_INTERVAL_MS + 17)));
    expect(renders).toBeLessThanOrEqual(Math.ceil(2000 / FLUSH_INTERVAL_MS) + 1);
  });

  it('still flushes by timer when the tab is hidden and frames stop', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'requestAnimationFrame', 'performance'] });
    const hidden = vi.spyOn(document, 'hidden', 'get').mockReturnValue(true);
    const store = new LiveStore(frameScheduler());
    store.enqueue(predictionEvent(prediction('a', 1)));
    vi.advanceTimersByTime(900);
    expect(store.getState().applied).toBe(0);
    vi.advanceTimersByTime(200);
    expect(store.getState().applied).toBe(1);
    hidden.mockRestore();
  });
});
