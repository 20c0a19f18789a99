import { useConnection } from '../live/hooks';
import type { ConnectionState } from '../live/store';

const TEXT: Record<ConnectionState, { label: string; hint: string }> = {
  connecting: { label: 'Connecting…', hint: 'Opening the live event stream' },
  live: { label: 'Live', hint: 'Receiving live events from the API' },
  reconnecting: { label: 'Reconnecting…', hint: 'Connection lost; the browser is reconnecting' },
  offline: { label: 'Offline', hint: 'The API cannot be reached; retrying — check that forewarn-api is running' },
};

/** Live / reconnecting indicator of the event stream. */
export function ConnectionBadge() {
  const state = useConnection();
  const { label, hint } = TEXT[state];
  return (
    <span
      className={`connection connection-${state}`}
      data-testid="connection-state"
      data-state={state}
      role="status"
      aria-live="polite"
      title={hint}
    >
      <span className="connection-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
