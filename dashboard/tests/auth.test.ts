// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readsNeedToken, storeCredentials, storedCredentials, withAccessToken } from '../src/api/auth';
import { ApiError, api } from '../src/api/client';
import { NO_FILTERS, buildExportHref } from '../src/state/logQuery';

afterEach(() => {
  sessionStorage.clear();
  vi.unstubAllGlobals();
});

function answer(status: number, body: unknown) {
  const seen: { url: string; headers: Record<string, string> }[] = [];
  vi.stubGlobal('fetch', (url: string, init?: RequestInit) => {
    seen.push({ url, headers: (init?.headers ?? {}) as Record<string, string> });
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  });
  return seen;
}

describe('API token', () => {
  it('is kept per tab and sent as a bearer header once known', async () => {
    expect(storedCredentials()).toBeNull();
    storeCredentials({ token: 's3cret-token-123456', by: 'ada' });
    expect(storedCredentials()).toEqual({ token: 's3cret-token-123456', by: 'ada' });
    const seen = answer(200, { alerts: [] });
    await api.alerts('open');
    expect(seen[0]?.url).toBe('api/alerts?state=open');
    expect(seen[0]?.headers.Authorization).toBe('Bearer s3cret-token-123456');
  });

  it('learns from a 401 on a read that reads need the token, and only then puts it in URLs', async () => {
    storeCredentials({ token: 'tok/en', by: 'ada' });
    expect(withAccessToken('api/events')).toBe('api/events');
    answer(401, { error: 'missing bearer token', field: null });
    const failure = await api.machines().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).status).toBe(401);
    expect(readsNeedToken()).toBe(true);
    expect(withAccessToken('api/events')).toBe('api/events?access_token=tok%2Fen');
    expect(buildExportHref({ ...NO_FILTERS, status: 'failure' })).toBe('api/export.csv?status=failure&access_token=tok%2Fen');
  });

  it('does not mark reads when a write is refused', async () => {
    answer(401, { error: 'invalid bearer token', field: null });
    await expect(api.ack('a1', 'wrong', 'ada')).rejects.toMatchObject({ status: 401, message: 'invalid bearer token' });
    expect(readsNeedToken()).toBe(false);
  });
});
