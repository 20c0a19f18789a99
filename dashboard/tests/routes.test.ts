import { describe, expect, it } from 'vitest';
import { href, parseHash } from '../src/state/routes';

describe('hash routes', () => {
  it.each([
    ['', { name: 'overview' }],
    ['#/', { name: 'overview' }],
    ['#/log', { name: 'log' }],
    ['#/alerts', { name: 'alerts' }],
    ['#/models', { name: 'models' }],
    ['#/machine/slave1', { name: 'machine', id: 'slave1' }],
    ['#/log?status=failure', { name: 'log' }],
  ])('%s', (hash, route) => {
    expect(parseHash(hash)).toEqual(route);
  });

  it('links to the models view', () => {
    expect(parseHash(href.models())).toEqual({ name: 'models' });
  });

  it('round-trips machine ids that need encoding', () => {
    expect(parseHash(href.machine('line 2/a'))).toEqual({ name: 'machine', id: 'line 2/a' });
  });

  it('reports unknown or broken paths', () => {
    expect(parseHash('#/nope')).toEqual({ name: 'not-found', hash: '#/nope' });
    expect(parseHash('#/machine/%E0%A4%A')).toMatchObject({ name: 'not-found' });
  });
});
