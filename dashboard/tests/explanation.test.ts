import { describe, expect, it } from 'vitest';
import type { Explanation } from '../src/state/explanation';
import { explainedTotal, parseExplanation, remainingText } from '../src/state/explanation';
import { formatAgo, sparkPoints } from '../src/state/format';
import { FULL_EXPLANATION, withoutEarlyWarning } from './explanationSample';

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
    expect(parsed?.conditions).toEqual([{ mode: 'PWF', text: 'power above 9 kW', margin: 0.2, holds: null }]);
  });

  it('skips malformed entries instead of throwing', () => {
    const parsed = parseExplanation({
      contributions: [null, { feature: 1, contribution: 1 }, { feature: 'x', contribution: 'big' }, { feature: 'ok', contribution: 0.5 }],
      conditions: 'none',
      base_value: Number.NaN,
    });
    expect(parsed).toEqual({
      contributions: [{ feature: 'ok', value: null, contribution: 0.5, healthy: null }],
      baseValue: null,
      conditions: [],
      rest: null,
      earlyWarning: null,
      text: '',
    });
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

describe('parseExplanation of the worker shape', () => {
  it('reads every part: base, rest, signed contributions, conditions and the early warning', () => {
    const parsed = parseExplanation(FULL_EXPLANATION);
    expect(parsed).toEqual({
      baseValue: 0.0339,
      rest: 0.0121,
      contributions: [
        { feature: 'overstrain_ratio', value: 0.984, contribution: 0.412, healthy: null },
        { feature: 'tool_wear_min', value: 212, contribution: 0.1874, healthy: null },
        { feature: 'rotational_speed_rpm', value: 1380, contribution: -0.0412, healthy: null },
      ],
      conditions: [
        { mode: 'OSF', holds: false, margin: -176.6, text: FULL_EXPLANATION.conditions[0]?.text },
        { mode: 'PWF', holds: true, margin: 412, text: FULL_EXPLANATION.conditions[1]?.text },
      ],
      earlyWarning: { mode: 'TWF', counter: 'tool_wear_min', remaining: 12.4, unit: 'min', text: FULL_EXPLANATION.early_warning.text },
      text: '',
    });
    expect(explainedTotal(parsed as Explanation)).toBeCloseTo(0.6042, 6);
  });

  it('treats a missing early_warning key as no warning', () => {
    const parsed = parseExplanation(withoutEarlyWarning());
    expect(parsed?.earlyWarning).toBeNull();
    expect(parsed?.contributions).toHaveLength(3);
  });

  it('survives every part being null', () => {
    expect(parseExplanation({ base_value: null, rest: null, contributions: null, conditions: null, early_warning: null })).toBeNull();
    const onlyWarning = parseExplanation({ contributions: null, early_warning: { mode: 'OSF', remaining_min: 0, text: null } });
    expect(onlyWarning).toEqual({
      contributions: [],
      baseValue: null,
      conditions: [],
      rest: null,
      earlyWarning: { mode: 'OSF', counter: '', remaining: 0, unit: 'min', text: '' }, // stored before profiles
      text: '',
    });
    expect(explainedTotal(onlyWarning as Explanation)).toBeNull();
  });

  it('drops unusable warnings and conditions, and keeps an unknown holds as null', () => {
    const parsed = parseExplanation({
      base_value: 0.03,
      early_warning: { mode: 'TWF', remaining_min: 'soon', text: 42 },
      conditions: [{ mode: 'HDF', holds: 'yes', margin: null, text: 'process − air 8.1 K below the 8.6 K limit' }, { mode: 'PWF', holds: true }],
    });
    expect(parsed?.earlyWarning).toBeNull();
    expect(parsed?.conditions).toEqual([{ mode: 'HDF', holds: null, margin: null, text: 'process − air 8.1 K below the 8.6 K limit' }]);
    expect(parseExplanation({ early_warning: ['TWF', 3] })).toBeNull();
  });

  it('words the time left', () => {
    expect(remainingText(12.4, { unit: 'min', usage: 'tool use' })).toBe('about 12 min of tool use left');
    expect(remainingText(12.4)).toBe('about 12 left');
    expect(remainingText(-3)).toBe('inside the failure region now');
    expect(remainingText(null)).toBeNull();
  });
});

describe('parseExplanation of a RUL model or an anomaly detector', () => {
  it("reads the model's sentence and each contribution with the feature's healthy mean", () => {
    const parsed = parseExplanation({
      text: '24 cycles of useful life left, under the horizon of 30 cycles',
      contributions: [
        { feature: 'egt_mean30', value: 1431.2, healthy: 1405.1, contribution: -21.5 },
        { feature: 'egt', value: 1433, healthy: 1404, contribution: -3.25 },
      ],
    });
    expect(parsed?.text).toBe('24 cycles of useful life left, under the horizon of 30 cycles');
    expect(parsed?.contributions.map((c) => [c.feature, c.healthy, c.contribution])).toEqual([
      ['egt_mean30', 1405.1, -21.5],
      ['egt', 1404, -3.25],
    ]);
    expect(parseExplanation({ text: 'anomaly score 7.2 above its threshold 4' })?.contributions).toEqual([]);
  });
});
