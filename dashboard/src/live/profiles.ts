/**
 * The profiles the API knows (GET /api/profiles), loaded once and again whenever a machine
 * names a profile not loaded yet (a profile added to the registry while the page is open).
 */
import { createContext, useContext, useEffect, useSyncExternalStore } from 'react';
import type { Profile } from '../api/client';
import { api } from '../api/client';
import type { ProfileMap } from '../state/profiles';

/** A reload for an unknown profile id waits at least this long after the previous one. */
const RELOAD_MS = 10_000;

export class ProfilesStore {
  private profiles: ProfileMap = {};
  private loading: Promise<void> | null = null;
  private lastLoad = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly load: () => Promise<readonly Profile[]> = () => api.profiles().then((r) => r.profiles),
    initial: readonly Profile[] = [],
  ) {
    if (initial.length > 0) {
      this.profiles = Object.fromEntries(initial.map((p) => [p.id, p]));
      this.lastLoad = performance.now();
    }
  }

  getState = (): ProfileMap => this.profiles;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Load the profiles when `id` is not known yet (or nothing was loaded); a failure is retried later. */
  want(id: string | null | undefined): void {
    const missing = id ? !(id in this.profiles) : this.lastLoad === Number.NEGATIVE_INFINITY;
    if (!missing || this.loading || performance.now() - this.lastLoad < RELOAD_MS) return;
    this.lastLoad = performance.now();
    this.loading = this.load()
      .then((list) => {
        this.profiles = Object.fromEntries(list.map((p) => [p.id, p]));
        for (const listener of this.listeners) listener();
      })
      .catch(() => undefined) // the views show field names until a later load works
      .finally(() => {
        this.loading = null;
      });
  }
}

/** Without a provider (component tests): no profiles, nothing fetched; views then show field names. */
export const ProfilesContext = createContext<ProfilesStore>(new ProfilesStore(() => Promise.resolve([])));

/** Every known profile, by id. */
export function useProfiles(): ProfileMap {
  const store = useContext(ProfilesContext);
  useEffect(() => store.want(null), [store]);
  return useSyncExternalStore(store.subscribe, store.getState);
}

/** One profile (undefined while it loads, or when the API does not know it). */
export function useProfile(id: string | null | undefined): Profile | undefined {
  const store = useContext(ProfilesContext);
  useEffect(() => store.want(id), [store, id]);
  const profiles = useSyncExternalStore(store.subscribe, store.getState);
  return id ? profiles[id] : undefined;
}
