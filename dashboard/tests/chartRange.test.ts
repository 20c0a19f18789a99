import { describe, expect, it } from 'vitest';
import { FEW_POINTS, constantPad, nearConstantYRange, showPoints, windowXRange } from '../src/state/chartRange';

const NOW_MS = Date.parse('2026-05-01T12:00:00Z');

describe('windowXRange', () => {
  it('spans the window that ends now, in seconds', () => {
    expect(windowXRange(5 * 60_000, NOW_MS)).toEqual([NOW_MS / 1000 - 300, NOW_MS / 1000]);
    expect(windowXRange(86_400_000, NOW_MS)).toEqual([NOW_MS / 1000 - 86_400, NOW_MS / 1000]);
  });

  it('keeps a lone point inside a window of the chosen length, not years wide', () => {
    const lone = NOW_MS / 1000 - 10;
    const [min, max] = windowXRange(3_600_000, NOW_MS, lone);
    expect(max - min).toBe(3600);
    expect(lone).toBeGreaterThan(min);
    expect(lone).toBeLessThanOrEqual(max);
  });

  it('moves the end to a newest point that is ahead of the browser clock', () => {
    const ahead = NOW_MS / 1000 + 2;
    expect(windowXRange(5 * 60_000, NOW_MS, ahead)).toEqual([ahead - 300, ahead]);
  });
});

describe('nearConstantYRange', () => {
  it('centres a constant series on its value with 1 % either side', () => {
    const range = nearConstantYRange(298.9, 298.9);
    expect(range?.[0]).toBeCloseTo(295.911, 6);
    expect(range?.[1]).toBeCloseTo(301.889, 6);
  });

  it('uses at least ± 1 for small and zero values', () => {
    expect(nearConstantYRange(0, 0)).toEqual([-1, 1]);
    expect(nearConstantYRange(40, 40)).toEqual([39, 41]);
    expect(nearConstantYRange(-5, -5)).toEqual([-6, -4]);
  });

  it('scales with the magnitude of negative values too', () => {
    expect(nearConstantYRange(-1500, -1500)).toEqual([-1515, -1485]);
  });

  it('treats a spread within the pad as near-constant and keeps the data inside', () => {
    const range = nearConstantYRange(298.8, 299.0);
    expect(range).not.toBeNull();
    const [lo, hi] = range ?? [0, 0];
    expect(lo).toBeLessThan(298.8);
    expect(hi).toBeGreaterThan(299.0);
    expect(hi - lo).toBeCloseTo(2 * constantPad(298.9), 9);
  });

  it("leaves a varying series to uPlot's own range", () => {
    expect(nearConstantYRange(1400, 1600)).toBeNull();
    expect(nearConstantYRange(30, 50)).toBeNull();
    expect(nearConstantYRange(0, 1.5)).toBeNull();
  });

  it('gives no range without finite data', () => {
    expect(nearConstantYRange(null, null)).toBeNull();
    expect(nearConstantYRange(Number.NaN, 3)).toBeNull();
    expect(nearConstantYRange(1, Infinity)).toBeNull();
  });
});

describe('showPoints', () => {
  it('draws dots for a lone point and for few points, not for many or none', () => {
    expect(showPoints(1)).toBe(true);
    expect(showPoints(FEW_POINTS)).toBe(true);
    expect(showPoints(FEW_POINTS + 1)).toBe(false);
    expect(showPoints(600)).toBe(false);
    expect(showPoints(0)).toBe(false);
  });
});
