import { describe, expect, it } from 'vitest';
import { PSI_EXPLAINED, levelSummary, parseDrift, psiLevel, worstLevel } from '../src/state/drift';
import { href, parseHash } from '../src/state/routes';

/** A report as api/routes/drift.py answers it. */
const REPORT = {
  model_version: '20261127-0815-3f2a9c1b',
  machine_id: 'm1',
  profile: 'ai4i-mill',
  window: 1000,
  reason: null,
  features: [
    { feature: 'air_temp_k', psi: 0.0312, level: 'stable' },
    { feature: 'torque_nm', psi: 0.1804, level: 'moderate' },
    { feature: 'tool_wear_min', psi: 0.4127, level: 'significant' },
  ],
};

describe('parseDrift', () => {
  it('keeps a well-formed report as it is', () => {
    expect(parseDrift(REPORT)).toEqual(REPORT);
  });

  it('keeps the reason of an empty report', () => {
    const none = { model_version: null, machine_id: null, profile: null, window: 0, reason: 'the model card has no training distribution', features: [] };
    expect(parseDrift(none)).toEqual(none);
  });

  it('drops bad rows, derives a missing level and never throws', () => {
    const parsed = parseDrift({
      window: 'many',
      features: [null, { feature: 'x', psi: 'high' }, { feature: 'torque_nm', psi: 0.3, level: 'awful' }, { psi: 0.1 }],
    });
    expect(parsed).toEqual({
      model_version: null,
      machine_id: null,
      profile: null,
      window: 0,
      reason: null,
      features: [{ feature: 'torque_nm', psi: 0.3, level: 'significant' }],
    });
    expect(parseDrift('<html>').reason).toBe('the API answered something unexpected');
    expect(parseDrift({ features: 'none' }).reason).toBe('no drift report');
  });
});

describe('drift levels', () => {
  it('reads PSI as model/drift.py does', () => {
    expect([0, 0.099, 0.1, 0.249, 0.25, 3].map(psiLevel)).toEqual(['stable', 'stable', 'moderate', 'moderate', 'significant', 'significant']);
  });

  it('finds the worst level and counts them', () => {
    const parsed = parseDrift(REPORT);
    expect(worstLevel(parsed.features)).toBe('significant');
    expect(worstLevel(parsed.features.slice(0, 1))).toBe('stable');
    expect(worstLevel([])).toBeNull();
    expect(levelSummary(parsed.features)).toBe('1 stable, 1 moderate, 1 significant');
    expect(levelSummary(parsed.features.slice(0, 1))).toBe('1 stable');
  });

  it('explains PSI with its thresholds in one line', () => {
    expect(PSI_EXPLAINED).toMatch(/below 0\.1 stable, 0\.1–0\.25 moderate, above 0\.25 significant/);
    expect(PSI_EXPLAINED).toContain('retrain');
    expect(PSI_EXPLAINED).not.toContain('\n');
  });

  it('has its own route', () => {
    expect(parseHash('#/drift')).toEqual({ name: 'drift' });
    expect(parseHash(href.drift())).toEqual({ name: 'drift' });
  });
});
