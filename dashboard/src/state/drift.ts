/**
 * Defensive reading of GET /api/drift and what the dashboard says about it. The population
 * stability index (PSI) compares the recent readings of a sensor with its training
 * distribution; model/drift.py reads it as below 0.1 stable, 0.1 to 0.25 moderate, above
 * significant.
 */
import type { DriftFeature, DriftLevel, DriftResponse } from '../api/client';

export const DRIFT_LEVELS = ['stable', 'moderate', 'significant'] as const satisfies readonly DriftLevel[];
export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.25;

/** One line for people who have never heard of PSI. */
export const PSI_EXPLAINED =
  'PSI (population stability index) measures how far recent readings have moved from the data the model was ' +
  'trained on: below 0.1 stable, 0.1–0.25 moderate, above 0.25 significant — check the sensors or retrain the model.';

type Loose = Record<string, unknown>;

function isLoose(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function isLevel(value: unknown): value is DriftLevel {
  return (DRIFT_LEVELS as readonly unknown[]).includes(value);
}

/** The level model/drift.py gives a PSI value, for an answer that lacks one. */
export function psiLevel(psi: number): DriftLevel {
  if (psi >= PSI_SIGNIFICANT) return 'significant';
  return psi >= PSI_MODERATE ? 'moderate' : 'stable';
}

function feature(entry: unknown): DriftFeature | null {
  if (!isLoose(entry) || typeof entry.feature !== 'string') return null;
  const psi = entry.psi;
  if (typeof psi !== 'number' || !Number.isFinite(psi)) return null;
  return { feature: entry.feature, psi, level: isLevel(entry.level) ? entry.level : psiLevel(psi) };
}

/** A drift answer as the dashboard can trust it; never throws (bad rows are dropped). */
export function parseDrift(raw: unknown): DriftResponse {
  if (!isLoose(raw)) {
    return {
      model_version: null,
      machine_id: null,
      profile: null,
      window: 0,
      reason: 'the API answered something unexpected',
      features: [],
    };
  }
  const features = Array.isArray(raw.features) ? raw.features.map(feature).filter((f) => f !== null) : [];
  const window = typeof raw.window === 'number' && Number.isFinite(raw.window) ? Math.max(0, raw.window) : 0;
  return {
    model_version: stringOrNull(raw.model_version),
    machine_id: stringOrNull(raw.machine_id),
    profile: stringOrNull(raw.profile),
    window,
    reason: stringOrNull(raw.reason) ?? (features.length === 0 ? 'no drift report' : null),
    features,
  };
}

/** The worst level among the sensors; null when there is no report. */
export function worstLevel(features: readonly DriftFeature[]): DriftLevel | null {
  let worst: DriftLevel | null = null;
  for (const f of features) {
    if (worst === null || DRIFT_LEVELS.indexOf(f.level) > DRIFT_LEVELS.indexOf(worst)) worst = f.level;
  }
  return worst;
}

/** "2 stable, 1 moderate" — levels in order, zero counts left out. */
export function levelSummary(features: readonly DriftFeature[]): string {
  return DRIFT_LEVELS.map((level) => [level, features.filter((f) => f.level === level).length] as const)
    .filter(([, n]) => n > 0)
    .map(([level, n]) => `${n} ${level}`)
    .join(', ');
}
