/** React bindings of the live store (useSyncExternalStore with narrow selectors). */
import { createContext, useContext, useEffect, useMemo, useSyncExternalStore } from 'react';
import { inOrder } from '../state/live';
import type { LiveEvent, LiveState, MachineLive, Totals } from '../state/live';
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
  return useSyncExternalStore(store.subscribe, () => store.getState().order);
}

/** Machines per state and open alerts over the whole fleet (a new object only when they change). */
export function useTotals(): Totals {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => store.getState().totals);
}

/** The overview's machines (its staggered copy) in the fleet's natural order. */
export function useShownInOrder(): readonly MachineLive[] {
  const order = useMachineIds();
  const shown = useShownMachines();
  return useMemo(() => inOrder(order, shown), [order, shown]);
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
