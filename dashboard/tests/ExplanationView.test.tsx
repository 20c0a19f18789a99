// @vitest-environment jsdom
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Prediction } from '../src/api/client';
import { ReadingDetails, ReadingModal } from '../src/views/ReadingModal';
import { FULL_EXPLANATION, withoutEarlyWarning } from './explanationSample';
import { MILL, readExample } from './fixtures';

const example = readExample('prediction') as Prediction;

function details(explanation: unknown) {
  return render(<ReadingDetails reading={{ ...example, explanation } as Prediction} profile={MILL} />);
}

function bar(row: HTMLElement): HTMLElement {
  const found = row.querySelector<HTMLElement>('.bar');
  if (!found) throw new Error('no bar in the row');
  return found;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('explanation rendering, worker shape', () => {
  it('draws signed bars from the centre line, largest first, with the rest and the total', () => {
    details(FULL_EXPLANATION);
    const rows = screen.getAllByTestId('contribution');
    expect(rows.map((r) => r.dataset.feature)).toEqual(['overstrain_ratio', 'tool_wear_min', 'rotational_speed_rpm']);
    expect(rows.map((r) => r.querySelector('.bar-label')?.textContent)).toEqual(['+0.412', '+0.187', '−0.041']);
    const [largest, , lowering] = rows as [HTMLElement, HTMLElement, HTMLElement];
    expect(bar(largest).className).toBe('bar bar-up');
    expect(bar(largest).style.left).toBe('50%');
    expect(bar(largest).style.width).toBe('50%'); // the largest fills its half
    expect(bar(lowering).className).toBe('bar bar-down');
    expect(bar(lowering).style.right).toBe('50%');
    expect(bar(lowering).style.width).toBe('5%');
    const rest = screen.getByTestId('contribution-rest');
    expect(rest.textContent).toContain('other features');
    expect(rest.textContent).toContain('+0.012');
    expect(screen.getByTestId('explanation-total').textContent).toContain('= 60%');
    expect(screen.getByTestId('explanation').textContent).toContain('Base value (average prediction) 3%');
  });

  it('lists the conditions with their text, whether met, and the margin', () => {
    details(FULL_EXPLANATION);
    const conditions = screen.getAllByTestId('condition');
    expect(conditions.map((c) => [c.dataset.mode, c.dataset.holds])).toEqual([
      ['OSF', 'near'],
      ['PWF', 'met'],
    ]);
    const [overstrain, power] = conditions as [HTMLElement, HTMLElement];
    expect(overstrain.textContent).toContain('nearly met');
    expect(overstrain.textContent).toContain('wear × torque 10,823 min·Nm, 98% of the 11,000 limit for type L');
    expect(overstrain.textContent).toContain('(margin -176.60)');
    expect(power.textContent).toContain('met');
    expect(power.textContent).not.toContain('nearly');
    expect(within(power).getByTitle('Power Failure').textContent).toBe('PWF');
  });

  it('puts the early warning first when the worker sent one', () => {
    details(FULL_EXPLANATION);
    const warning = screen.getByTestId('early-warning');
    expect(warning.dataset.mode).toBe('TWF');
    expect(warning.dataset.remaining).toBe('12.4');
    expect(warning.textContent).toContain('Early warning');
    expect(warning.textContent).toContain(FULL_EXPLANATION.early_warning.text);
    expect(screen.getByTestId('explanation').firstElementChild).toBe(warning);
  });

  it('shows no early-warning line when the key is missing', () => {
    details(withoutEarlyWarning());
    expect(screen.queryByTestId('early-warning')).toBeNull();
    expect(screen.getAllByTestId('contribution')).toHaveLength(3);
    expect(screen.getAllByTestId('condition')).toHaveLength(2);
  });

  it('says there is no explanation when every part is null', () => {
    details({ base_value: null, rest: null, contributions: null, conditions: null, early_warning: null });
    expect(screen.getByTestId('no-explanation')).toBeTruthy();
    expect(screen.queryByTestId('explanation')).toBeNull();
  });

  it('renders whatever part is usable and nothing for the rest', () => {
    details({
      contributions: null,
      rest: null,
      conditions: [{ mode: 'HDF', holds: true, text: 'process − air 8.1 K below the 8.6 K limit at 1,302 rpm (< 1,380)' }],
      early_warning: { mode: 'OSF', remaining_min: 0, text: null },
    });
    expect(screen.queryByRole('table', { name: 'Feature contributions' })).toBeNull();
    expect(screen.queryByTestId('explanation-total')).toBeNull();
    expect(screen.getByTestId('early-warning').textContent).toContain('inside the failure region now');
    const condition = screen.getByTestId('condition');
    expect(condition.textContent).toContain('8.1 K below the 8.6 K limit');
    expect(condition.textContent).not.toContain('margin');
  });

  it('shows the rest alone when no single feature is listed', () => {
    details({ base_value: 0.03, rest: -0.02, contributions: [], conditions: [] });
    expect(screen.queryAllByTestId('contribution')).toHaveLength(0);
    expect(screen.getByTestId('contribution-rest').textContent).toContain('−0.020');
    expect(screen.getByTestId('explanation-total').textContent).toContain('= 1%');
  });
});

describe('ReadingModal with the worker shape', () => {
  it('renders the fetched reading\'s full explanation in the dialog', async () => {
    vi.stubGlobal('fetch', () => Promise.resolve(new Response(JSON.stringify({ ...example, explanation: FULL_EXPLANATION }))));
    render(<ReadingModal row={example} onClose={() => undefined} />);
    const dialog = screen.getByTestId('reading-modal');
    expect(await within(dialog).findByTestId('early-warning')).toBeTruthy();
    expect(within(dialog).getAllByTestId('contribution')).toHaveLength(3);
    expect(within(dialog).getAllByTestId('condition')).toHaveLength(2);
    expect(within(dialog).getByTestId('contribution-rest')).toBeTruthy();
  });
});
