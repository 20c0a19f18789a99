import { describe, expect, it } from 'vitest';
import type { Verdict } from '../src/api/client';
import { parseHash } from '../src/state/routes';
import { isVerdictKind, latestByAlert, verdictText } from '../src/state/verdicts';

function verdict(id: number, alertId: string, kind: Verdict['verdict'], by: string | null, mode: string | null = null): Verdict {
  return {
    id,
    alert_id: alertId,
    machine_id: 'press-1',
    profile: 'ai4i-mill',
    kind: 'predicted',
    verdict: kind,
    mode,
    note: null,
    by,
    at: '2026-12-06T21:00:00.000Z',
    model_version: 'v1',
    alert_opened_at: '2026-12-06T20:00:00.000Z',
  };
}

describe('verdicts', () => {
  it('keeps the latest verdict of each alert, whatever the order', () => {
    const latest = latestByAlert([verdict(3, 'a', 'real_failure', 'Bo', 'TWF'), verdict(1, 'a', 'false_alarm', 'Ana'), verdict(2, 'b', 'unsure', null)]);
    expect(latest.get('a')?.id).toBe(3);
    expect(latest.get('b')?.verdict).toBe('unsure');
    expect(latestByAlert([verdict(1, 'a', 'false_alarm', 'Ana'), verdict(3, 'a', 'unsure', 'Bo')]).get('a')?.id).toBe(3);
  });

  it('says what was decided and by whom', () => {
    expect(verdictText(verdict(1, 'a', 'real_failure', 'Bo', 'TWF'))).toBe('real failure (TWF) by Bo');
    expect(verdictText(verdict(1, 'a', 'planned_maintenance', null))).toBe('planned maintenance');
  });

  it('accepts only the four verdicts', () => {
    expect(['real_failure', 'false_alarm', 'planned_maintenance', 'unsure'].every(isVerdictKind)).toBe(true);
    expect(isVerdictKind('maybe')).toBe(false);
    expect(isVerdictKind('toString')).toBe(false);
  });

  it('routes #/quality', () => {
    expect(parseHash('#/quality')).toEqual({ name: 'quality' });
  });
});
