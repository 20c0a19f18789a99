// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveContext } from '../src/live/hooks';
import { LiveStore } from '../src/live/store';
import { DriftPanel } from '../src/views/DriftPanel';
import { DriftView } from '../src/views/DriftView';
import { DRIFT_REFRESH_MS } from '../src/views/useDrift';
import { MILL, prediction, predictionEvent, summary } from './fixtures';

function report(machine: string | null, features: { feature: string; psi: number; level: string }[], reason: string | null = null) {
  return { model_version: '20261127-0815-3f2a9c1b', machine_id: machine, window: features.length ? 1000 : 0, reason, features };
}

const MIXED = [
  { feature: 'air_temp_k', psi: 0.0312, level: 'stable' },
  { feature: 'torque_nm', psi: 0.1804, level: 'moderate' },
  { feature: 'tool_wear_min', psi: 0.4127, level: 'significant' },
];

/** Answers GET api/drift with the next body of `answers` (the last one repeats); 404 for an Error. */
function serveDrift(...answers: unknown[]) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', (url: string) => {
    calls.push(url);
    const answer = answers[Math.min(calls.length, answers.length) - 1];
    if (answer instanceof Error) {
      return Promise.resolve(new Response(JSON.stringify({ error: answer.message, field: null }), { status: 404 }));
    }
    return Promise.resolve(new Response(JSON.stringify(answer)));
  });
  return calls;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }); // Testing Library's own waits keep real timeouts
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('DriftPanel', () => {
  it("shows one machine's PSI per sensor, coloured by level, with window, model and what PSI means", async () => {
    const calls = serveDrift(report('m1', MIXED));
    render(<DriftPanel machine="m1" profile={MILL} />);
    const rows = await screen.findAllByTestId('drift-row');
    expect(calls).toEqual(['api/drift?machine=m1&limit=1000']);
    expect(rows.map((r) => r.dataset.level)).toEqual(['stable', 'moderate', 'significant']);
    expect(rows.map((r) => r.dataset.feature)).toEqual(['air_temp_k', 'torque_nm', 'tool_wear_min']);
    expect(rows[2]?.textContent).toContain('tool wear (min)'); // the profile's label and unit
    expect(rows[2]?.textContent).toContain('0.413');
    expect(rows[2]?.querySelector('.pill')?.className).toBe('pill pill-drift-significant');
    expect(rows[0]?.querySelector('.pill')?.className).toBe('pill pill-drift-stable');
    const panel = screen.getByTestId('drift-panel');
    expect(panel.dataset.level).toBe('significant');
    expect(panel.dataset.machine).toBe('m1');
    const meta = screen.getByTestId('drift-meta');
    expect(meta.textContent).toContain('Latest 1000 readings of m1');
    expect(meta.textContent).toContain('model 20261127-0815-3f2a9c1b');
    expect(screen.getByTestId('drift-help').textContent).toContain('below 0.1 stable');
    expect(screen.queryByTestId('drift-reason')).toBeNull();
  });

  it('gives the reason when there is no report', async () => {
    serveDrift(report('m1', [], 'no readings yet'));
    render(<DriftPanel machine="m1" />);
    expect((await screen.findByTestId('drift-reason')).textContent).toBe('No drift report: no readings yet.');
    expect(screen.queryAllByTestId('drift-row')).toHaveLength(0);
    expect(screen.getByTestId('drift-panel').dataset.level).toBe('none');
    expect(screen.getByTestId('drift-meta').textContent).toContain('Latest 0 readings');
  });

  it('refreshes every 30 s, not on live events', async () => {
    const store = new LiveStore((flush) => flush());
    const calls = serveDrift(report(null, MIXED.slice(0, 1)), report(null, MIXED));
    render(
      <LiveContext value={store}>
        <DriftView />
      </LiveContext>,
    );
    expect(await screen.findAllByTestId('drift-row')).toHaveLength(1);
    act(() => {
      store.seed([summary('m1', prediction('m1', 0))]);
      for (let i = 1; i <= 50; i += 1) store.enqueue(predictionEvent(prediction('m1', i), i));
    });
    expect(calls).toEqual(['api/drift?limit=1000']); // fleet-wide: no machine parameter
    expect(screen.getByRole('link', { name: 'm1' }).getAttribute('href')).toBe('#/machine/m1');

    await act(async () => {
      vi.advanceTimersByTime(DRIFT_REFRESH_MS - 1);
      await Promise.resolve();
    });
    expect(calls).toHaveLength(1);
    act(() => {
      vi.advanceTimersByTime(1);
    });
    await vi.waitFor(() => expect(screen.getAllByTestId('drift-row')).toHaveLength(3));
    expect(calls).toEqual(['api/drift?limit=1000', 'api/drift?limit=1000']);
  });

  it('keeps the last report when a refresh fails, and offers to try again', async () => {
    const calls = serveDrift(report('m1', MIXED), new Error('no route /api/drift'), report('m1', MIXED.slice(0, 2)));
    render(<DriftPanel machine="m1" />);
    await screen.findAllByTestId('drift-row');
    act(() => {
      vi.advanceTimersByTime(DRIFT_REFRESH_MS);
    });
    const error = await screen.findByTestId('drift-error');
    expect(error.textContent).toContain('Refreshing the drift report failed: no route /api/drift');
    expect(screen.getAllByTestId('drift-row')).toHaveLength(3);

    fireEvent.click(within(error).getByRole('button', { name: 'Try again' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('drift-row')).toHaveLength(2));
    expect(screen.queryByTestId('drift-error')).toBeNull();
    expect(calls).toHaveLength(3);
  });

  it('says so when the first request fails', async () => {
    serveDrift(new Error('no route /api/drift'));
    render(<DriftPanel machine="m1" />);
    expect(screen.getByTestId('drift-loading')).toBeTruthy();
    expect((await screen.findByTestId('drift-error')).textContent).toContain('Cannot load the drift report: no route /api/drift');
    expect(screen.queryByTestId('drift-loading')).toBeNull();
    expect(screen.getByTestId('drift-panel').dataset.level).toBe('none');
  });
});
