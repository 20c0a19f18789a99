import { describe, expect, it } from 'vitest';
import { parseLiveEvent } from '../src/state/sse';
import { alertView, prediction, readExample } from './fixtures';

describe('parseLiveEvent', () => {
  it('decodes the three event kinds with their ids', () => {
    expect(parseLiveEvent('prediction', JSON.stringify(readExample('prediction')), '42')).toMatchObject({ kind: 'prediction', id: 42 });
    expect(parseLiveEvent('alert', JSON.stringify(alertView('a', 'x')), '43')).toMatchObject({ kind: 'alert', id: 43 });
    const status = parseLiveEvent('status', '{"machine_id":"a","online":false,"ts":"2026-11-27T08:15:00Z"}', '');
    expect(status).toEqual({ kind: 'status', id: null, data: { machine_id: 'a', online: false, ts: '2026-11-27T08:15:00Z' } });
  });

  it('drops malformed or unknown events instead of throwing', () => {
    expect(parseLiveEvent('prediction', 'not json', '1')).toBeNull();
    expect(parseLiveEvent('prediction', '[1,2]', '1')).toBeNull();
    expect(parseLiveEvent('prediction', JSON.stringify({ ...prediction('a', 1), failure_probability: '0.9' }), '1')).toBeNull();
    expect(parseLiveEvent('status', '{"machine_id":"a","online":"yes","ts":"x"}', '1')).toBeNull();
    expect(parseLiveEvent('rejection', JSON.stringify(readExample('rejection')), '1')).toBeNull();
  });
});
