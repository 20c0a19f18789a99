/** What each kind of model found, said the same way everywhere (state/modelKind.ts), and charted (state/series.ts). */
import { describe, expect, it } from 'vitest';
import type { AlertView, Profile } from '../src/api/client';
import {
  ALERT_KIND_LABEL,
  alertFigure,
  formatScore,
  isAnomalous,
  modelBadge,
  modelKindOf,
  predictionFigure,
  rulSpec,
  rulText,
  statusLabel,
} from '../src/state/modelKind';
import { SeriesBuffer } from '../src/state/series';
import { MILL, alertView, prediction } from './fixtures';

/** A profile with a RUL model, as GET /api/profiles answers it (the unit and horizon are its own). */
const ENGINE: Profile = {
  id: 'test-engine',
  name: 'Test engine',
  fields: [{ name: 'egt', label: 'exhaust gas temperature', kind: 'sensor', unit: 'K', min: 0, max: 2000 }],
  model: { kind: 'rul', order: 'egt', rul: { unit: 'hours', horizon: 50 } },
};

const percent = (p: number | null | undefined) => (typeof p === 'number' ? `${Math.round(p * 100)}%` : '—');

function rulPrediction(rul: number | null, patch = {}) {
  return prediction('e1', 1, {
    profile: 'test-engine',
    model_kind: 'rul',
    rul,
    rul_low: rul === null ? null : rul - 4,
    rul_high: rul === null ? null : rul + 6,
    rul_unit: 'hours',
    rul_horizon: 50,
    failure_probability: null,
    threshold: null,
    status: rul !== null && rul < 50 ? 'predictive' : 'normal',
    ...patch,
  });
}

function anomalyPrediction(score: number) {
  return prediction('p1', 1, {
    model_kind: 'anomaly',
    anomaly_score: score,
    anomaly_threshold: 4,
    failure_probability: null,
    threshold: null,
    status: score > 4 ? 'predictive' : 'normal',
  });
}

describe('model kinds', () => {
  it('take the kind from the latest prediction, and from the profile while nothing is scored', () => {
    expect(modelKindOf(ENGINE, undefined)).toBe('rul');
    expect(modelKindOf(ENGINE, prediction('e1', 1, { status: 'unscored', model_kind: 'classifier' }))).toBe('rul');
    expect(modelKindOf(ENGINE, rulPrediction(80))).toBe('rul');
    expect(modelKindOf(ENGINE, anomalyPrediction(1))).toBe('anomaly'); // a detector trained for the class
    expect(modelKindOf(MILL, prediction('m1', 1))).toBe('classifier');
    expect(modelKindOf(undefined, null)).toBe('classifier');
  });

  it("say a remaining life in the profile's unit, with its interval and horizon", () => {
    expect(rulSpec(ENGINE, undefined)).toEqual({ unit: 'hours', horizon: 50 });
    expect(rulSpec(ENGINE, rulPrediction(80, { rul_unit: 'cycles', rul_horizon: 30 }))).toEqual({ unit: 'cycles', horizon: 30 });
    expect(rulText(41.6, 'hours')).toBe('42 hours');
    expect(rulText(-3, 'hours')).toBe('0 hours');
    expect(rulText(null, 'hours')).toBe('—');
    expect(modelBadge(ENGINE, rulPrediction(80))).toEqual({ text: '80 hours left', tone: 'rul' });
    expect(modelBadge(ENGINE, rulPrediction(41.6))).toEqual({ text: '42 hours left', tone: 'rul-near' });
    expect(modelBadge(ENGINE, rulPrediction(null, { status: 'unscored' }))).toBeNull();
    expect(predictionFigure(rulPrediction(41.6), percent)).toBe('42 hours left');
  });

  it('mark an anomaly only above its threshold, and never call it a failure', () => {
    expect(isAnomalous(anomalyPrediction(4.5))).toBe(true);
    expect(isAnomalous(anomalyPrediction(4))).toBe(false);
    expect(modelBadge(undefined, anomalyPrediction(9.25))).toEqual({ text: 'anomaly', tone: 'anomaly' });
    expect(modelBadge(undefined, anomalyPrediction(1))).toBeNull();
    expect(modelBadge(MILL, prediction('m1', 1, { status: 'predictive' }))).toBeNull();
    expect(formatScore(9.25)).toBe('9.25');
    expect(formatScore(12345.6)).toBe('12,346');
    expect(predictionFigure(anomalyPrediction(9.25), percent)).toBe('score 9.25 (anomaly)');
    expect(predictionFigure(prediction('m1', 1, { failure_probability: 0.93 }), percent)).toBe('93%');
    expect(statusLabel('predictive', 'anomaly')).toBe('Anomaly');
    expect(statusLabel('predictive', 'rul')).toBe('End of life near');
    expect(statusLabel('predictive')).toBe('Failure predicted');
    expect(statusLabel('unscored', 'rul')).toBe('Not scored');
  });

  it('label alerts by kind with the figure that opened them', () => {
    const rul: AlertView = alertView('e1', 'e1-rul', { kind: 'rul', rul: 24.4, rul_unit: 'cycles', failure_probability: null });
    const anomaly: AlertView = alertView('p1', 'p1-anomaly', { kind: 'anomaly', anomaly_score: 9.25, anomaly_threshold: 4 });
    expect([ALERT_KIND_LABEL.rul, alertFigure(rul, percent)]).toEqual(['End of life', '~24 cycles left']);
    expect([ALERT_KIND_LABEL.anomaly, alertFigure(anomaly, percent)]).toEqual(['Anomaly', 'score 9.25 > 4.00']);
    expect(alertFigure(alertView('m1', 'm1-p', { failure_probability: 0.93 }), percent)).toBe('p = 93%');
  });
});

describe('SeriesBuffer model columns', () => {
  it('average the remaining life and its interval per bucket and keep the highest anomaly score', () => {
    const buffer = new SeriesBuffer(100, 10_000, 3_600_000, []);
    buffer.push({ ...rulPrediction(60), ts: '2026-11-27T08:15:00.000Z' });
    buffer.push({ ...rulPrediction(50, { rul_low: null, rul_high: null }), ts: '2026-11-27T08:15:05.000Z' }); // same bucket
    buffer.push({ ...rulPrediction(null, { status: 'unscored' }), ts: '2026-11-27T08:15:20.000Z' });
    buffer.push({ ...anomalyPrediction(2), ts: '2026-11-27T08:15:30.000Z' });
    buffer.push({ ...anomalyPrediction(7), ts: '2026-11-27T08:15:31.000Z' });
    const model = buffer.toModelColumns();
    expect(model.rul).toEqual([55, null, null]);
    expect(model.rulLow).toEqual([53, null, null]); // (56 + 50) / 2: a point without an interval counts its rul
    expect(model.rulHigh).toEqual([58, null, null]);
    expect(model.anomalyScore).toEqual([null, null, 7]);
    expect(buffer.toColumns()[0]).toHaveLength(3);
  });
});
