/** What the views show of a machine comes from its profile (state/profiles.ts). */
import { describe, expect, it } from 'vitest';
import type { Profile } from '../src/api/client';
import { ProfilesStore } from '../src/live/profiles';
import {
  allFields,
  labelWithUnit,
  modeNames,
  numericFields,
  featureMeta,
  quantityMeta,
  sharedNumericFields,
  valueSummary,
  warningCounter,
} from '../src/state/profiles';
import { MILL } from './fixtures';

const FAN: Profile = {
  id: 'test-fan',
  name: 'Test fan',
  fields: [
    { name: 'vibration_rms', label: 'vibration RMS', kind: 'sensor', unit: 'mm/s', min: 0, max: 100, decimals: 2 },
    { name: 'bearing_temp_c', label: 'bearing temperature', kind: 'sensor', unit: '°C', min: -40, max: 200, decimals: 1 },
  ],
  failure_modes: [{ code: 'BRG', name: 'Bearing Failure' }],
};

describe('profile helpers', () => {
  it("list a profile's numbers in its order with labels, units and decimals", () => {
    expect(numericFields(FAN).map(labelWithUnit)).toEqual(['vibration RMS (mm/s)', 'bearing temperature (°C)']);
    expect(numericFields(MILL).map((f) => f.name)).toEqual(
      MILL.fields.filter((f) => f.kind === 'sensor' || f.kind === 'counter').map((f) => f.name),
    );
    expect(allFields(MILL).map((f) => f.kind)).toContain('category');
    expect(numericFields(undefined)).toEqual([]);
  });

  it('name failure modes, derived features and the early-warning counter from the profile', () => {
    expect(modeNames(FAN)).toEqual({ BRG: 'Bearing Failure' });
    expect(modeNames(MILL).PWF).toBe('Power Failure');
    const power = MILL.derived?.find((d) => d.unit === 'W');
    expect(power && quantityMeta(MILL, power.name).label).toBe(power?.label);
    expect(quantityMeta(FAN, 'unknown_thing')).toEqual({ name: 'unknown_thing', label: 'unknown_thing', unit: '', decimals: 2 });
    expect(warningCounter(MILL, 'TWF')).toEqual({ unit: 'min', usage: 'tool use' });
    expect(warningCounter(FAN, 'BRG')).toBeUndefined();
  });

  it('share columns only between profiles that agree, and summarise values otherwise', () => {
    expect(sharedNumericFields([FAN, FAN]).map((f) => f.name)).toEqual(['vibration_rms', 'bearing_temp_c']);
    expect(sharedNumericFields([FAN, MILL])).toEqual([]);
    expect(sharedNumericFields([FAN, undefined])).toEqual([]);
    expect(valueSummary(FAN, { bearing_temp_c: 81.25, vibration_rms: 7, note: 'x' })).toBe(
      'vibration RMS 7.00 mm/s, bearing temperature 81.3 °C',
    );
    expect(valueSummary(undefined, { a: 1.5 })).toBe('a 1.50');
  });
});

describe('ProfilesStore', () => {
  it('loads once, and again (not too often) when a machine names an unknown profile', async () => {
    let loads = 0;
    const store = new ProfilesStore(() => {
      loads += 1;
      return Promise.resolve(loads === 1 ? [MILL] : [MILL, FAN]);
    });
    let changes = 0;
    store.subscribe(() => (changes += 1));
    store.want(null);
    await Promise.resolve();
    await Promise.resolve();
    expect(Object.keys(store.getState())).toEqual(['ai4i-mill']);
    store.want('ai4i-mill');
    store.want('test-fan'); // unknown, but the last load was a moment ago: wait
    expect(loads).toBe(1);
    expect(changes).toBe(1);
  });
});

describe('featureMeta', () => {
  it("names a model's window features after the profile's field, and leaves unknown names as they are", () => {
    expect(featureMeta(FAN, 'vibration_rms_mean30')).toEqual({ name: 'vibration_rms_mean30', label: 'vibration RMS, mean of the last 30', unit: 'mm/s', decimals: 2 });
    expect(featureMeta(FAN, 'bearing_temp_c_slopeall').label).toBe('bearing temperature, slope since new');
    expect(featureMeta(FAN, 'bearing_temp_c_slopeall').unit).toBe('');
    expect(featureMeta(FAN, 'vibration_rms_mean10_b30').label).toBe('vibration RMS, mean of the last 10, relative to the first 30');
    expect(featureMeta(FAN, 'bearing_temp_c').label).toBe('bearing temperature');
    expect(featureMeta(FAN, 'nothing_mean5').label).toBe('nothing_mean5');
  });
});
