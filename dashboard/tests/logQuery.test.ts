import { describe, expect, it } from 'vitest';
import type { LogFilters } from '../src/state/logQuery';
import { NO_FILTERS, buildExportHref, buildLogQuery, localInputToUtc, utcToLocalInput } from '../src/state/logQuery';

// vite.config.ts runs the tests in Asia/Kolkata (UTC+05:30).
it('runs in a zone with an offset', () => {
  expect(new Date('2026-11-27T08:15:00Z').getTimezoneOffset()).toBe(-330);
});

const params = (search: string) => Object.fromEntries(new URLSearchParams(search));

describe('log filters -> query string', () => {
  it('sends only the page size without filters', () => {
    expect(buildLogQuery(NO_FILTERS)).toEqual({ ok: true, search: '?limit=50' });
  });

  it('sends status, machine, UTC times, limit and cursor', () => {
    const filters: LogFilters = { status: 'failure', profile: '', machine: ' slave 1 ', since: '2026-11-27T08:15', until: '2026-11-27T09:00' };
    const result = buildLogQuery(filters, 'abc/+=', 20);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(params(result.search)).toEqual({
      status: 'failure',
      machine: 'slave 1',
      since: '2026-11-27T02:45:00.000Z',
      until: '2026-11-27T03:30:00.000Z',
      limit: '20',
      cursor: 'abc/+=',
    });
    expect(result.search).toContain('machine=slave+1');
    expect(result.search).toContain('cursor=abc%2F%2B%3D');
  });

  it('refuses a range that ends before it starts, naming the field', () => {
    const result = buildLogQuery({ ...NO_FILTERS, since: '2026-11-27T10:00', until: '2026-11-27T09:00' });
    expect(result).toMatchObject({ ok: false, field: 'until' });
  });

  it('refuses a time that is not a datetime-local value', () => {
    expect(buildLogQuery({ ...NO_FILTERS, since: 'yesterday' })).toMatchObject({ ok: false, field: 'since' });
    expect(localInputToUtc('2026-13-45T99:00')).toBeNull();
  });

  it('builds the CSV export link with the same filters and no paging', () => {
    expect(buildExportHref(NO_FILTERS)).toBe('api/export.csv');
    const href = buildExportHref({ ...NO_FILTERS, status: 'predictive', machine: 'm1' });
    expect(href).toBe('api/export.csv?status=predictive&machine=m1');
    expect(buildExportHref({ ...NO_FILTERS, since: 'bad' })).toBeNull();
  });

  it('round-trips a UTC time through the local input format', () => {
    expect(utcToLocalInput('2026-11-27T02:45:00.000Z')).toBe('2026-11-27T08:15');
    expect(localInputToUtc(utcToLocalInput('2026-11-27T02:45:00.000Z'))).toBe('2026-11-27T02:45:00.000Z');
  });
});
