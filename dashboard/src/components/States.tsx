/** Loading, error and empty states that tell the user what to do next. */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { storeCredentials } from '../api/auth';
import { TokenDialog } from './TokenDialog';

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" data-testid="loading">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

/** Asks for the token and reloads, so every request and the event stream carry it. */
function TokenButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="primary" onClick={() => setOpen(true)} data-testid="enter-token">
        Enter API token
      </button>
      {open && (
        <TokenDialog
          purpose="read"
          error={null}
          onCancel={() => setOpen(false)}
          onSubmit={(credentials) => {
            storeCredentials(credentials);
            window.location.reload();
          }}
        />
      )}
    </>
  );
}

interface ErrorStateProps {
  title: string;
  message: string;
  onRetry?: () => void;
  /** HTTP status of the failure; 401 offers to enter the token. */
  status?: number;
}

export function ErrorState({ title, message, onRetry, status }: ErrorStateProps) {
  return (
    <div className="state state-error" role="alert" data-testid="error-state">
      <strong>{title}</strong>
      <p>{message}</p>
      <div className="form-actions">
        {status === 401 && <TokenButton />}
        {onRetry && (
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        )}
      </div>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="empty-state">
      <strong>{title}</strong>
      {children}
    </div>
  );
}
