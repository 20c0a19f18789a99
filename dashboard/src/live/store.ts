/**
 * The page's single live store. SSE events are queued as they arrive and applied in one
 * batch (state/live.ts applyEvents) on an animation frame, at most every FLUSH_INTERVAL_MS:
 * 500 events/s cost ~16 small renders/s, not 500. With the overview's staggering (a quarter
 * of the cards per batch) every card refreshes about 4 times a second: faster than anyone
 * reads figures, and each batch's work stays far below a 50 ms task.
 */
import type { MachineSummary } from '../api/client';
import type { LiveEvent, LiveState } from '../state/live';
import { EMPTY_LIVE, applyEvents, seedMachines } from '../state/live';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';
export type SnapshotState = { phase: 'loading' } | { phase: 'ready' } | { phase: 'error'; message: string; status: number };

/** Runs `flush` soon: on the next frame, or by a timer when frames are paused (hidden tab). */
export type Scheduler = (flush: () => void) => void;

export const FLUSH_INTERVAL_MS = 60;

/** Flush on the first animation frame at least `intervalMs` after the previous flush. */
export function frameScheduler(intervalMs = FLUSH_INTERVAL_MS): Scheduler {
  let lastFlush = Number.NEGATIVE_INFINITY;
  return (flush) => {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      lastFlush = performance.now();
      flush();
    };
    const wait = Math.max(0, lastFlush + intervalMs - performance.now());
    setTimeout(() => {
      if (!document.hidden) requestAnimationFrame(once);
    }, wait);
    // Background tabs get no frames; this timer keeps the queue from growing without bound.
    setTimeout(once, wait + 1000);
  };
}

export class LiveStore {
  private state: LiveState = EMPTY_LIVE;
  private queue: LiveEvent[] = [];
  private scheduled = false;
  private readonly listeners = new Set<() => void>();
  private readonly batchListeners = new Set<(events: readonly LiveEvent[]) => void>();
  connection: ConnectionState = 'connecting';
  snapshot: SnapshotState = { phase: 'loading' };

  constructor(private readonly schedule: Scheduler = frameScheduler()) {}

  getState = (): LiveState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Called with each applied batch (for charts that keep their own series). */
  onBatch(listener: (events: readonly LiveEvent[]) => void): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  enqueue(event: LiveEvent): void {
    this.queue.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.state = applyEvents(this.state, batch);
    for (const listener of this.batchListeners) listener(batch);
    this.notify();
  }

  seed(machines: readonly MachineSummary[]): void {
    this.state = seedMachines(this.state, machines);
    this.snapshot = { phase: 'ready' };
    this.notify();
  }

  setSnapshot(snapshot: SnapshotState): void {
    this.snapshot = snapshot;
    this.notify();
  }

  setConnection(connection: ConnectionState): void {
    if (connection === this.connection) return;
    this.connection = connection;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
