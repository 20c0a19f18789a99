/**
 * Chart series of one machine: a ring buffer of time buckets fed by history points and
 * live predictions. Points closer than `bucketMs` merge into one bucket the way the API
 * downsamples (mean of values and of the remaining useful life, max of failure probability and
 * of anomaly score, worst status), so a 24 h window
 * keeps its span while live readings arrive 10 times a second.
 */
import type { HistoryPoint, PredictionStatus } from '../api/client';
import { RingBuffer } from './ringBuffer';

/** How bad a status is; a status this dashboard does not know counts as normal. */
export function severity(status: PredictionStatus): number {
  return status === 'failure' ? 2 : status === 'predictive' ? 1 : 0;
}

interface Bucket {
  t: number; // seconds since epoch (uPlot's x unit), of the bucket's first point
  ns: number[]; // per field: how many points carried it
  sums: number[]; // per field (the buffer's `fields`, in order)
  probability: number | null;
  status: PredictionStatus;
  rulN: number; // points that carried a remaining useful life
  rulSums: [number, number, number]; // sums of rul, rul_low, rul_high (an interval-less point counts its rul)
  score: number | null; // the highest anomaly score
}

/** Columns in uPlot's AlignedData order: x, each field (null where none was given), failure probability. */
export type SeriesColumns = [number[], ...(number | null)[][]];

/** The model's outputs per bucket, aligned with the x column: RUL means and the top anomaly score. */
export interface ModelColumns {
  rul: (number | null)[];
  rulLow: (number | null)[];
  rulHigh: (number | null)[];
  anomalyScore: (number | null)[];
}

export class SeriesBuffer {
  private readonly ring: RingBuffer<Bucket>;
  private revision = 0;

  constructor(
    capacity: number,
    readonly bucketMs: number,
    readonly windowMs: number,
    /** The numeric fields charted, in order (the machine's profile's). */
    readonly fields: readonly string[],
  ) {
    this.ring = new RingBuffer<Bucket>(capacity);
  }

  get length(): number {
    return this.ring.length;
  }

  /** Grows on every change, so a chart can skip redrawing an unchanged series. */
  get version(): number {
    return this.revision;
  }

  /** Add one point; points older than the newest bucket are ignored (SSE replays). */
  push(point: HistoryPoint): void {
    const ms = Date.parse(point.ts);
    if (Number.isNaN(ms)) return;
    const last = this.ring.last();
    if (last && ms < last.t * 1000) return;
    if (last && ms - last.t * 1000 < this.bucketMs) merge(last, point, this.fields);
    else this.ring.push(newBucket(ms, point, this.fields));
    this.ring.dropWhile((b) => b.t * 1000 < ms - this.windowMs);
    this.revision += 1;
  }

  pushAll(points: readonly HistoryPoint[]): void {
    for (const point of points) this.push(point);
  }

  /** Latest bucket's worst status, or null when empty. */
  lastStatus(): PredictionStatus | null {
    return this.ring.last()?.status ?? null;
  }

  toColumns(): SeriesColumns {
    const buckets = this.ring.toArray();
    const xs = buckets.map((b) => b.t);
    const values = this.fields.map((_, i) => buckets.map((b) => ((b.ns[i] ?? 0) > 0 ? (b.sums[i] ?? 0) / (b.ns[i] ?? 1) : null)));
    return [xs, ...values, buckets.map((b) => b.probability)];
  }

  toModelColumns(): ModelColumns {
    const buckets = this.ring.toArray();
    const mean = (i: 0 | 1 | 2) => buckets.map((b) => (b.rulN > 0 ? b.rulSums[i] / b.rulN : null));
    return { rul: mean(0), rulLow: mean(1), rulHigh: mean(2), anomalyScore: buckets.map((b) => b.score) };
  }
}

function finite(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A point's rul, rul_low, rul_high (its rul where the interval is missing); null without a rul. */
function rulOf(point: HistoryPoint): [number, number, number] | null {
  const rul = finite(point.rul);
  if (rul === null) return null;
  return [rul, finite(point.rul_low) ?? rul, finite(point.rul_high) ?? rul];
}

function numberOf(point: HistoryPoint, field: string): number | null {
  const value = point.values[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function newBucket(ms: number, point: HistoryPoint, fields: readonly string[]): Bucket {
  const bucket = emptyBucket(ms, point, fields);
  mergeModel(bucket, point);
  return bucket;
}

function emptyBucket(ms: number, point: HistoryPoint, fields: readonly string[]): Bucket {
  const numbers = fields.map((f) => numberOf(point, f));
  return {
    t: ms / 1000,
    ns: numbers.map((v) => (v === null ? 0 : 1)),
    sums: numbers.map((v) => v ?? 0),
    probability: point.failure_probability,
    status: point.status,
    rulN: 0,
    rulSums: [0, 0, 0],
    score: null,
  };
}

function mergeModel(bucket: Bucket, point: HistoryPoint): void {
  const rul = rulOf(point);
  if (rul) {
    bucket.rulN += 1;
    bucket.rulSums = [bucket.rulSums[0] + rul[0], bucket.rulSums[1] + rul[1], bucket.rulSums[2] + rul[2]];
  }
  const score = finite(point.anomaly_score);
  if (score !== null && (bucket.score === null || score > bucket.score)) bucket.score = score;
}

function merge(bucket: Bucket, point: HistoryPoint, fields: readonly string[]): void {
  fields.forEach((f, i) => {
    const value = numberOf(point, f);
    if (value === null) return;
    bucket.ns[i] = (bucket.ns[i] ?? 0) + 1;
    bucket.sums[i] = (bucket.sums[i] ?? 0) + value;
  });
  const p = point.failure_probability;
  if (p !== null && (bucket.probability === null || p > bucket.probability)) bucket.probability = p;
  if (severity(point.status) > severity(bucket.status)) bucket.status = point.status;
  mergeModel(bucket, point);
}

/** The chart windows the machine view offers, with their bucket sizes. */
export const WINDOWS = {
  '5m': { label: 'Last 5 min', ms: 5 * 60_000 },
  '1h': { label: 'Last hour', ms: 3_600_000 },
  '24h': { label: 'Last 24 h', ms: 86_400_000 },
} as const;
export type WindowKey = keyof typeof WINDOWS;

/** At most this many points per series on screen (and asked of the history endpoint). */
export const CHART_POINTS = 600;

export function bucketMsFor(window: WindowKey): number {
  return Math.ceil(WINDOWS[window].ms / CHART_POINTS);
}
