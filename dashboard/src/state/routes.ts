/** Hash routes: #/, #/machine/ID, #/log, #/alerts, #/quality, #/drift, #/models. No router dependency needed. */
export type Route =
  | { name: 'overview' }
  | { name: 'machine'; id: string }
  | { name: 'log' }
  | { name: 'alerts' }
  | { name: 'quality' }
  | { name: 'drift' }
  | { name: 'models' }
  | { name: 'not-found'; hash: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\?.*$/, '') || '/';
  if (path === '/' || path === '') return { name: 'overview' };
  if (path === '/log') return { name: 'log' };
  if (path === '/alerts') return { name: 'alerts' };
  if (path === '/quality') return { name: 'quality' };
  if (path === '/drift') return { name: 'drift' };
  if (path === '/models') return { name: 'models' };
  const machine = /^\/machine\/([^/]+)\/?$/.exec(path);
  if (machine?.[1]) {
    try {
      return { name: 'machine', id: decodeURIComponent(machine[1]) };
    } catch {
      return { name: 'not-found', hash };
    }
  }
  return { name: 'not-found', hash };
}

export const href = {
  overview: () => '#/',
  machine: (id: string) => `#/machine/${encodeURIComponent(id)}`,
  log: () => '#/log',
  alerts: () => '#/alerts',
  quality: () => '#/quality',
  drift: () => '#/drift',
  models: () => '#/models',
};
