/** React bindings of the live store (useSyncExternalStore with narrow selectors). */
import { createContext, useCallback, useContext, useEffect, useRef, useSyncExternalStore } from 'react';
import { sortedMachines } from '../state/live';
import type { LiveEvent, LiveState, MachineLive } from '../state/live';
import type { ConnectionState, LiveStore, SnapshotState } from './store';

export const LiveContext = createContext<LiveStore | null>(null);

export function useStore(): LiveStore {
  const store = useContext(LiveContext);
  if (!store) throw new Error('LiveContext is missing: wrap the app in <LiveContext value={store}>');
  return store;
}

export function useLive(): LiveState {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store.getState);
}

/** The overview's staggered view of the machines (see state/live.ts `stagger`). */
export function useShownMachines(): LiveState['shown'] {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => store.getState().shown);
}

export function useMachine(id: string): MachineLive | undefined {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => store.getState().machines[id]);
}

/** Machine ids in display order; a new array only when the set of machines changes. */
export function useMachineIds(): readonly string[] {
  const store = useStore();
  const cache = useRef<{ key: string; ids: string[] }>({ key: '', ids: [] });
  const getIds = useCallback(() => {
    const ids = sortedMachines(store.getState().machines).map((m) => m.id);
    const key = ids.join('\u0000');
    if (key !== cache.current.key) cache.current = { key, ids };
    return cache.current.ids;
  }, [store]);
  return useSyncExternalStore(store.subscribe, getIds);
}

export function useConnection(): ConnectionState {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => store.connection);
}

export function useSnapshot(): SnapshotState {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => store.snapshot);
}

/** Run `listener` with each batch of live events while the component is mounted. */
export function useLiveBatches(listener: (events: readonly LiveEvent[]) => void): void {
  const store = useStore();
  useEffect(() => store.onBatch(listener), [store, listener]);
}
