import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../src/state/ringBuffer';
import { SeriesBuffer } from '../src/state/series';
import { prediction } from './fixtures';

describe('RingBuffer', () => {
  it('keeps insertion order until full', () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.push(1)).toBeUndefined();
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    expect(ring.length).toBe(2);
    expect(ring.last()).toBe(2);
  });

  it('evicts the oldest item when full', () => {
    const ring = new RingBuffer<number>(3);
    [1, 2, 3].forEach((n) => ring.push(n));
    expect(ring.push(4)).toBe(1);
    expect(ring.push(5)).toBe(2);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.at(0)).toBe(3);
    expect(ring.at(-1)).toBe(5);
    expect(ring.at(3)).toBeUndefined();
  });

  it('stays bounded over many pushes', () => {
    const ring = new RingBuffer<number>(600);
    for (let i = 0; i < 100_000; i += 1) ring.push(i);
    expect(ring.length).toBe(600);
    expect(ring.at(0)).toBe(99_400);
  });

  it('drops from the oldest end while a predicate holds', () => {
    const ring = new RingBuffer<number>(4);
    [5, 1, 2, 3, 4].forEach((n) => ring.push(n)); // wraps: holds 1..4
    expect(ring.dropWhile((n) => n < 3)).toBe(2);
    expect(ring.toArray()).toEqual([3, 4]);
    ring.clear();
    expect(ring.toArray()).toEqual([]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new RingBuffer(1.5)).toThrow(RangeError);
  });
});

describe('SeriesBuffer', () => {
  it('merges points of one bucket: mean values, max probability, worst status', () => {
    const series = new SeriesBuffer(10, 1000, 60_000, ['speed', 'torque']);
    series.push(prediction('a', 0, { values: { torque: 40, speed: 1 }, failure_probability: 0.2, status: 'normal' }));
    series.push(prediction('a', 0.5, { values: { torque: 60 }, failure_probability: 0.9, status: 'failure' }));
    series.push(prediction('a', 0.9, { values: { torque: 50, kind: 'L' }, failure_probability: 0.1, status: 'normal' }));
    const columns = series.toColumns();
    expect(series.length).toBe(1);
    expect(columns[1]).toEqual([1]); // speed: only the point that carried it
    expect(columns[2]).toEqual([50]); // torque: the mean of the three
    expect(columns[3]).toEqual([0.9]);
    expect(series.lastStatus()).toBe('failure');
  });

  it('charts the fields it was given, in their order, and an unscored point has no probability', () => {
    const series = new SeriesBuffer(10, 1000, 60_000, ['vibration_rms', 'bearing_temp_c']);
    series.push(prediction('fan', 0, { values: { bearing_temp_c: 80, vibration_rms: 7 }, failure_probability: null, status: 'unscored' }));
    series.push(prediction('fan', 5, { values: { bearing_temp_c: 81 }, failure_probability: null, status: 'unscored' }));
    const columns = series.toColumns();
    expect(columns.slice(1)).toEqual([[7, null], [80, 81], [null, null]]);
    expect(series.lastStatus()).toBe('unscored');
  });

  it('caps the number of points and drops those out of the window', () => {
    const capped = new SeriesBuffer(600, 100, 3_600_000, []);
    for (let i = 0; i < 5000; i += 1) capped.push(prediction('a', i));
    expect(capped.length).toBe(600);
    const windowed = new SeriesBuffer(600, 100, 10_000, []);
    for (let i = 0; i < 60; i += 1) windowed.push(prediction('a', i));
    const [xs] = windowed.toColumns();
    expect((xs.at(-1) ?? 0) - (xs[0] ?? 0)).toBeLessThanOrEqual(10);
  });

  it('ignores points older than the newest (replays) and bad timestamps', () => {
    const series = new SeriesBuffer(10, 100, 60_000, []);
    series.push(prediction('a', 5));
    const version = series.version;
    series.push(prediction('a', 1));
    series.push(prediction('a', 6, { ts: 'not a time' }));
    expect(series.length).toBe(1);
    expect(series.version).toBe(version);
  });
});
