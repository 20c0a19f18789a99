/** Runs a write with the API token: asks for it once per tab (TokenDialog), again when refused. */
import { useState } from 'react';
import type { Credentials } from '../api/auth';
import { storeCredentials, storedCredentials } from '../api/auth';
import { ApiError } from '../api/client';
import { TokenDialog } from './TokenDialog';

type Action = (credentials: Credentials) => Promise<void>;

export function useTokenGuard(what: string) {
  const [pending, setPending] = useState<{ action: Action } | null>(null);
  const [tokenError, setTokenError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const attempt = async (action: Action, credentials: Credentials) => {
    setError(null);
    try {
      await action(credentials);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        storeCredentials(null);
        setTokenError('The API refused this token. Enter it again.');
        setPending({ action });
      } else {
        setError(`Could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  const run = (action: Action) => {
    const credentials = storedCredentials();
    if (credentials) void attempt(action, credentials);
    else setPending({ action });
  };
  const submit = (credentials: Credentials) => {
    storeCredentials(credentials);
    const waiting = pending;
    setPending(null);
    setTokenError(null);
    if (waiting) void attempt(waiting.action, credentials);
  };
  const cancel = () => {
    setPending(null);
    setTokenError(null);
  };
  const dialog = pending && <TokenDialog error={tokenError} onSubmit={submit} onCancel={cancel} />;
  return { run, error, dialog };
}
