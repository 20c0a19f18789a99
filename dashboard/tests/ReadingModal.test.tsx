// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Prediction } from '../src/api/client';
import { LiveContext } from '../src/live/hooks';
import { LiveStore } from '../src/live/store';
import { LogView } from '../src/views/LogView';
import { ReadingModal } from '../src/views/ReadingModal';
import { prediction, readExample } from './fixtures';

const EXPLANATION = {
  base_value: 0.034,
  contributions: [
    { feature: 'tool_wear_min', value: 191, contribution: 0.12 },
    { feature: 'torque_nm', value: 65.7, contribution: 0.41 },
    { feature: 'bogus', contribution: 'n/a' },
  ],
  conditions: [{ mode: 'PWF', text: 'power 9.7 kW above 9 kW', margin: 0.7 }],
};

/** Answers the API paths these components call, standing in for the Flask API. */
function serveApi(routes: Record<string, unknown>) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', (url: string) => {
    calls.push(url);
    const path = url.split('?')[0] ?? url;
    const body = routes[path];
    const status = body === undefined ? 404 : 200;
    return Promise.resolve(new Response(JSON.stringify(body ?? { error: 'not found', field: null }), { status }));
  });
  return calls;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const example = readExample('prediction') as Prediction;

describe('ReadingModal', () => {
  it('shows the reading, its prediction and the explanation from /api/readings', async () => {
    const calls = serveApi({ 'api/readings/slave1/slave1-000042': { ...example, explanation: EXPLANATION } });
    render(<ReadingModal row={example} onClose={() => undefined} />);
    const dialog = screen.getByTestId('reading-modal');
    expect(dialog.getAttribute('role')).toBe('dialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(within(dialog).getByRole('heading', { level: 2 }).textContent).toBe('Reading slave1-000042');
    const rows = await screen.findAllByTestId('contribution');
    expect(rows.map((r) => r.querySelector('th')?.textContent)).toEqual(['torque_nm', 'tool_wear_min']);
    expect(rows[0]?.textContent).toContain('+0.410');
    expect(screen.getByTestId('condition').textContent).toContain('power 9.7 kW above 9 kW');
    expect(dialog.textContent).toContain('3f2a9c1b7d04'); // model version
    expect(dialog.textContent).toContain('93%'); // probability
    expect(dialog.textContent).toContain('Power Failure');
    // a failure reading: the alerts of its machine are asked for the one it opened (none here)
    expect([...calls].sort()).toEqual(['api/alerts?state=all&machine=slave1', 'api/readings/slave1/slave1-000042']);
    expect(screen.queryByTestId('reading-alerts')).toBeNull();
  });

  it('shows the alert the reading opened with its verdict, which can be given here', async () => {
    const alert = { ...(readExample('alert') as Record<string, unknown>), alert_id: 'slave1-detected-slave1-000042', machine_id: 'slave1', reading_id: example.reading_id, acked_by: null, acked_at: null };
    const other = { ...alert, alert_id: 'another-alert', reading_id: 'slave1-000001' };
    const verdict = { id: 3, alert_id: alert.alert_id, machine_id: 'slave1', verdict: 'false_alarm', mode: null, by: 'Ana' };
    serveApi({
      'api/readings/slave1/slave1-000042': example,
      'api/alerts': { alerts: [alert, other] },
      'api/verdicts': { verdicts: [verdict] },
    });
    render(<ReadingModal row={example} onClose={() => undefined} />);
    const shown = await screen.findAllByTestId('reading-alert');
    expect(shown.map((p) => p.getAttribute('data-alert-id'))).toEqual([alert.alert_id]);
    expect((await screen.findByTestId('verdict-info')).textContent).toBe('false alarm by Ana');
    const select = screen.getByTestId<HTMLSelectElement>('verdict-select');
    expect(select.value).toBe('false_alarm');
    act(() => {
      fireEvent.change(select, { target: { value: 'unsure' } });
    });
    expect(await screen.findByTestId('token-dialog')).toBeTruthy(); // a write: the token first
  });

  it('says so when the model gave no explanation', async () => {
    serveApi({ 'api/readings/slave1/slave1-000042': example });
    render(<ReadingModal row={example} onClose={() => undefined} />);
    expect(await screen.findByTestId('no-explanation')).toBeTruthy();
    expect(screen.queryByTestId('explanation')).toBeNull();
  });

  it('falls back to the log row when the reading cannot be fetched', async () => {
    serveApi({});
    render(<ReadingModal row={{ ...example, explanation: EXPLANATION }} onClose={() => undefined} />);
    expect(await screen.findByText(/Showing the log's copy/)).toBeTruthy();
    expect(screen.getAllByTestId('contribution')).toHaveLength(2);
  });

  it('closes on Escape and keeps Tab inside the dialog', async () => {
    serveApi({ 'api/readings/slave1/slave1-000042': example });
    const onClose = vi.fn();
    render(<ReadingModal row={example} onClose={onClose} />);
    await screen.findByTestId('no-explanation');
    const close = screen.getByRole('button', { name: 'Close dialog' });
    expect(document.activeElement).toBe(close); // focus moved into the dialog
    fireEvent.keyDown(close, { key: 'Tab' }); // the only focusable element: focus stays
    expect(document.activeElement).toBe(close);
    fireEvent.keyDown(close, { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(close);
    fireEvent.keyDown(close, { key: 'Escape' });
    expect(onClose).toHaveBeenCalledTimes(1);
  });
});

describe('LogView', () => {
  it('lists the log and opens a row with Enter, returning focus to it on close', async () => {
    const items = [prediction('m1', 2, { status: 'failure' }), prediction('m2', 1, { status: 'normal' })];
    const calls = serveApi({ 'api/log': { items, next_cursor: 'c2' }, 'api/readings/m1/m1-2': items[0] });
    const store = new LiveStore(() => undefined);
    render(
      <LiveContext value={store}>
        <LogView />
      </LiveContext>,
    );
    const rows = await screen.findAllByTestId('log-row');
    expect(rows.map((r) => r.dataset.machine)).toEqual(['m1', 'm2']);
    expect(calls[0]).toBe('api/log?limit=50');
    expect(screen.getByTestId('log-load-more')).toBeTruthy();
    expect(screen.getByTestId('log-export').getAttribute('href')).toBe('api/export.csv');

    const first = rows[0] as HTMLElement;
    first.focus();
    fireEvent.keyDown(first, { key: 'Enter' });
    const dialog = await screen.findByTestId('reading-modal');
    expect(dialog.textContent).toContain('m1-2');
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByTestId('reading-modal')).toBeNull();
    expect(document.activeElement).toBe(first);
  });

  it('filters by status through the query string and the export link', async () => {
    const calls = serveApi({ 'api/log': { items: [], next_cursor: null } });
    render(
      <LiveContext value={new LiveStore(() => undefined)}>
        <LogView />
      </LiveContext>,
    );
    await screen.findByTestId('empty-state');
    await act(async () => {
      fireEvent.change(screen.getByTestId('filter-status'), { target: { value: 'failure' } });
      await Promise.resolve();
    });
    expect(calls.at(-1)).toBe('api/log?status=failure&limit=50');
    expect(screen.getByTestId('log-export').getAttribute('href')).toBe('api/export.csv?status=failure');
    expect((await screen.findByTestId('empty-state')).textContent).toContain('No readings match these filters');
  });
});
