import { describe, expect, it } from 'vitest';
import { parseExplanation } from '../src/state/explanation';
import { formatAgo, sparkPoints } from '../src/state/format';

describe('parseExplanation', () => {
  it('returns null for a missing or empty explanation', () => {
    expect(parseExplanation(null)).toBeNull();
    expect(parseExplanation('text')).toBeNull();
    expect(parseExplanation({})).toBeNull();
  });

  it('sorts contributions by size and keeps conditions', () => {
    const parsed = parseExplanation({
      base_value: 0.03,
      contributions: [
        { feature: 'air_temp_k', value: 300, contribution: 0.01 },
        { feature: 'torque_nm', value: 65.7, contribution: -0.4 },
      ],
      conditions: [{ mode: 'PWF', text: 'power above 9 kW', margin: 0.2 }],
    });
    expect(parsed?.contributions.map((c) => c.feature)).toEqual(['torque_nm', 'air_temp_k']);
    expect(parsed?.baseValue).toBe(0.03);
    expect(parsed?.conditions).toEqual([{ mode: 'PWF', text: 'power above 9 kW', margin: 0.2 }]);
  });

  it('skips malformed entries instead of throwing', () => {
    const parsed = parseExplanation({
      contributions: [null, { feature: 1, contribution: 1 }, { feature: 'x', contribution: 'big' }, { feature: 'ok', contribution: 0.5 }],
      conditions: 'none',
      base_value: Number.NaN,
    });
    expect(parsed).toEqual({ contributions: [{ feature: 'ok', value: null, contribution: 0.5 }], baseValue: null, conditions: [] });
  });
});

describe('format', () => {
  it('draws the newest sparkline value at the right edge on a 0-1 scale', () => {
    expect(sparkPoints([], 100, 10, 11)).toBe('');
    expect(sparkPoints([0, 1], 100, 10, 11)).toBe('90.0,10.0 100.0,0.0');
    expect(sparkPoints([2], 100, 10, 11)).toBe('100.0,0.0'); // clamped
  });

  it('says how long ago', () => {
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(formatAgo('2026-11-27T09:59:30Z', now)).toBe('30 s ago');
    expect(formatAgo('2026-11-27T07:00:00Z', now)).toBe('3 h ago');
    expect(formatAgo(null, now)).toBe('never');
  });
});
