/**
 * The API token, asked once and kept in sessionStorage (this tab only). Writes always need
 * it; reads only when the API runs with FOREWARN_API_READ_TOKEN_REQUIRED, which the
 * dashboard learns from a 401 on a read. EventSource and download links cannot send
 * headers, so they carry the token as `access_token` then, and only then.
 */
export interface Credentials {
  token: string;
  by: string;
}

const TOKEN_KEY = 'forewarn.token';
const NAME_KEY = 'forewarn.ackName';
const READS_KEY = 'forewarn.readsNeedToken';

function storage(): Storage | null {
  return typeof sessionStorage === 'undefined' ? null : sessionStorage;
}

export function storedCredentials(): Credentials | null {
  const token = storage()?.getItem(TOKEN_KEY);
  return token ? { token, by: storage()?.getItem(NAME_KEY) ?? 'dashboard' } : null;
}

export function storedName(): string {
  return storage()?.getItem(NAME_KEY) ?? '';
}

export function storeCredentials(credentials: Credentials | null): void {
  if (credentials) {
    storage()?.setItem(TOKEN_KEY, credentials.token);
    storage()?.setItem(NAME_KEY, credentials.by);
  } else {
    storage()?.removeItem(TOKEN_KEY);
  }
}

export function markReadsNeedToken(): void {
  storage()?.setItem(READS_KEY, 'true');
}

export function readsNeedToken(): boolean {
  return storage()?.getItem(READS_KEY) === 'true';
}

/** `url` with `access_token` added when reads need the token and one is stored. */
export function withAccessToken(url: string): string {
  const credentials = storedCredentials();
  if (!credentials || !readsNeedToken()) return url;
  return `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(credentials.token)}`;
}
