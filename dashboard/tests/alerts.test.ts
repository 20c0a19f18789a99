import { describe, expect, it } from 'vitest';
import { mergeAlerts, splitAlerts } from '../src/state/alerts';
import { alertView } from './fixtures';

describe('alerts', () => {
  it('puts open alerts first, newest first', () => {
    const alerts = [
      alertView('a', 'old-open', { opened_at: '2026-11-27T08:00:00Z' }),
      alertView('a', 'cleared', { state: 'cleared', opened_at: '2026-11-27T09:00:00Z', cleared_at: '2026-11-27T09:30:00Z' }),
      alertView('b', 'new-open', { opened_at: '2026-11-27T08:30:00Z' }),
    ];
    const { open, cleared } = splitAlerts(alerts);
    expect(open.map((a) => a.alert_id)).toEqual(['new-open', 'old-open']);
    expect(cleared.map((a) => a.alert_id)).toEqual(['cleared']);
  });

  it('upserts by id and keeps an acknowledgement the update does not repeat', () => {
    const acked = alertView('a', 'x', { acked_by: 'ada', acked_at: '2026-11-27T08:16:00Z' });
    const clearedEvent = alertView('a', 'x', { state: 'cleared', cleared_at: '2026-11-27T08:20:00Z' });
    const merged = mergeAlerts([acked, alertView('b', 'y')], [clearedEvent]);
    expect(merged).toHaveLength(2);
    const x = merged.find((a) => a.alert_id === 'x');
    expect(x).toMatchObject({ state: 'cleared', acked_by: 'ada' });
    expect(merged[0]?.alert_id).toBe('y'); // open first
  });
});
