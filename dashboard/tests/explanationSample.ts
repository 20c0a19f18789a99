/**
 * An explanation in the exact shape the worker sends (model/explain.py plus the early
 * warning of inference_worker/early_warning.py): base + Σ contributions + rest = 0.6042.
 */
export const FULL_EXPLANATION = {
  base_value: 0.0339,
  rest: 0.0121,
  contributions: [
    { feature: 'tool_wear_min', value: 212, contribution: 0.1874 },
    { feature: 'rotational_speed_rpm', value: 1380, contribution: -0.0412 },
    { feature: 'overstrain_ratio', value: 0.984, contribution: 0.412 },
  ],
  conditions: [
    { mode: 'OSF', holds: false, margin: -176.6, text: 'wear × torque 10,823 min·Nm, 98% of the 11,000 limit for type L' },
    { mode: 'PWF', holds: true, margin: 412.0, text: 'power 9,412 W, 105% of the 9,000 W upper limit' },
  ],
  early_warning: {
    mode: 'TWF',
    counter: 'tool_wear_min',
    remaining: 12.4,
    unit: 'min',
    text: 'tool wear 188 min: about 12 min of tool use left before the tool-wear failure region (200 min)',
  },
};

/** The same without its (optional) early_warning key. */
export function withoutEarlyWarning(): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...FULL_EXPLANATION };
  delete copy.early_warning;
  return copy;
}
