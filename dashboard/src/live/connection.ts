/**
 * EventSource lifecycle: feeds the store, reports live/reconnecting, and re-reads the
 * machines snapshot after every reconnection (the API may have restarted and lost the
 * events it kept for Last-Event-ID replay).
 */
import { withAccessToken } from '../api/auth';
import { ApiError, EVENTS_URL, api } from '../api/client';
import { EVENT_KINDS, parseLiveEvent } from '../state/sse';
import type { LiveStore } from './store';

const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];

export async function loadSnapshot(store: LiveStore): Promise<void> {
  try {
    const response = await api.machines();
    store.seed(response.machines);
  } catch (err) {
    const message = err instanceof ApiError ? err.message : String(err);
    store.setSnapshot({ phase: 'error', message, status: err instanceof ApiError ? err.status : 0 });
  }
}

/** Open the event stream; returns a function that closes it for good. */
export function connectEvents(store: LiveStore): () => void {
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let opened = false;
  let closed = false;

  const open = () => {
    const lastId = store.getState().lastEventId;
    // The browser sends Last-Event-ID on its own reconnects only; a new EventSource
    // carries the position in the query string instead.
    const url = lastId === null ? EVENTS_URL : `${EVENTS_URL}?last_event_id=${lastId}`;
    source = new EventSource(withAccessToken(url));
    source.onopen = () => {
      failures = 0;
      store.setConnection('live');
      if (opened) void loadSnapshot(store);
      opened = true;
    };
    source.onerror = () => {
      if (source?.readyState === EventSource.CONNECTING) {
        store.setConnection('reconnecting');
        return;
      }
      // CLOSED: the browser gave up (HTTP error or wrong content type); retry ourselves.
      source?.close();
      store.setConnection('offline');
      const delay = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)] ?? 30_000;
      failures += 1;
      if (!closed) timer = setTimeout(open, delay);
    };
    // The API sends `resync` when events this page missed are no longer in its memory.
    source.addEventListener('resync', () => void loadSnapshot(store));
    for (const kind of EVENT_KINDS) {
      source.addEventListener(kind, (message: MessageEvent<string>) => {
        const event = parseLiveEvent(kind, message.data, message.lastEventId);
        if (event) store.enqueue(event);
      });
    }
  };

  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
