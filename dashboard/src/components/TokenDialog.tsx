/** Asks once per browser tab for the API token (and a name recorded with acknowledgements). */
import { useState } from 'react';
import type { Credentials } from '../api/auth';
import { storedName } from '../api/auth';
import type { SubmitEvent } from 'react';
import { Modal } from './Modal';

type Purpose = 'ack' | 'read' | 'models';
const TITLES: Record<Purpose, string> = { ack: 'Acknowledge alerts', read: 'API token needed', models: 'Change the models' };
const DOING: Record<Purpose, string> = { ack: 'Acknowledging', read: 'Reading this API', models: 'Promoting or rolling back' };
const SUBMIT: Record<Purpose, string> = { ack: 'Save and acknowledge', read: 'Save and reload', models: 'Save and go on' };

interface TokenDialogProps {
  purpose?: Purpose;
  error: string | null;
  onSubmit: (credentials: Credentials) => void;
  onCancel: () => void;
}

export function TokenDialog({ purpose = 'ack', error, onSubmit, onCancel }: TokenDialogProps) {
  const [token, setToken] = useState('');
  const [by, setBy] = useState(storedName);
  const submit = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (token.trim()) onSubmit({ token: token.trim(), by: by.trim() || 'dashboard' });
  };
  return (
    <Modal title={TITLES[purpose]} onClose={onCancel} testId="token-dialog">
      <form className="token-form" onSubmit={submit}>
        <p>
          {DOING[purpose]} needs its token (FOREWARN_API_TOKEN; ask whoever
          runs Forewarn). It is kept in this tab only and forgotten when the tab closes.
        </p>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <label>
          API token
          <input
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="token-input"
            data-autofocus
            required
          />
        </label>
        <label>
          Your name (recorded with the acknowledgement)
          <input value={by} onChange={(e) => setBy(e.target.value)} data-testid="ack-name-input" maxLength={64} />
        </label>
        <div className="form-actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="token-submit">
            {SUBMIT[purpose]}
          </button>
        </div>
      </form>
    </Modal>
  );
}
