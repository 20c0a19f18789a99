/** Test data built from the contract's own example payloads, never typed in by hand. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AlertView, MachineSummary, Prediction, Profile } from '../src/api/client';
import type { Alert } from '../src/api/contract.gen';
import type { LiveEvent } from '../src/state/live';

export const EXAMPLES_DIR = resolve(import.meta.dirname, '../../contract/examples');
const SCHEMAS = resolve(import.meta.dirname, '../schemas/contract.json');

/** The built-in AI4I profile as GET /api/profiles answers it (from the contract's schema document). */
export const MILL = (JSON.parse(readFileSync(SCHEMAS, 'utf8')) as { profiles: Record<string, { profile: Profile }> }).profiles['ai4i-mill']?.profile as Profile;

export function readExample(name: string): unknown {
  return JSON.parse(readFileSync(resolve(EXAMPLES_DIR, `${name}.json`), 'utf8'));
}

const basePrediction = readExample('prediction') as Prediction;
const baseAlert = readExample('alert') as Alert;

/** The example prediction for `machine` at `seconds` past a fixed minute. */
export function prediction(machine: string, seconds: number, patch: Partial<Prediction> = {}): Prediction {
  const ts = new Date(Date.UTC(2026, 10, 27, 8, 15, 0) + seconds * 1000).toISOString();
  return { ...basePrediction, machine_id: machine, reading_id: `${machine}-${seconds}`, ts, scored_at: ts, ...patch };
}

export function alertView(machine: string, id: string, patch: Partial<AlertView> = {}): AlertView {
  return { ...baseAlert, cleared_at: baseAlert.cleared_at ?? null, machine_id: machine, alert_id: id, acked_by: null, acked_at: null, ...patch };
}

export function predictionEvent(p: Prediction, id: number | null = null): LiveEvent {
  return { kind: 'prediction', id, data: p };
}

export function summary(machine: string, latest: Prediction | null, patch: Partial<MachineSummary> = {}): MachineSummary {
  return {
    machine_id: machine,
    profile: latest?.profile ?? null,
    online: true,
    status: latest?.status ?? null,
    last_seen: latest?.ts ?? null,
    latest,
    open_alerts: [],
    counts: { readings: 1, predictive: 0, failure: 0 },
    threshold: latest?.threshold ?? null,
    ...patch,
  };
}
