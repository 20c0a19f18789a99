import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { connectEvents, loadSnapshot } from './live/connection';
import { LiveContext } from './live/hooks';
import { ProfilesContext, ProfilesStore } from './live/profiles';
import { LiveStore } from './live/store';
import './styles.css';

const store = new LiveStore();
const profiles = new ProfilesStore();
profiles.want(null);
void loadSnapshot(store);
connectEvents(store);

// Read-only figures for bench/perf.mjs and the end-to-end tests.
Object.defineProperty(window, '__forewarn', {
  value: Object.freeze({
    stats: () => ({
      applied: store.getState().applied,
      lastEventId: store.getState().lastEventId,
      machines: Object.keys(store.getState().machines).length,
      connection: store.connection,
    }),
  }),
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <LiveContext value={store}>
      <ProfilesContext value={profiles}>
        <App />
      </ProfilesContext>
    </LiveContext>
  </StrictMode>,
);
