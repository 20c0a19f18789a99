/**
 * Chart series of one machine: a ring buffer of time buckets fed by history points and
 * live predictions. Points closer than `bucketMs` merge into one bucket the way the API
 * downsamples (mean of values, max of failure probability, worst status), so a 24 h window
 * keeps its span while live readings arrive 10 times a second.
 */
import type { HistoryPoint, PredictionStatus, SensorField } from '../api/client';
import { SENSOR_FIELDS } from '../api/client';
import { RingBuffer } from './ringBuffer';

export const SEVERITY: Readonly<Record<PredictionStatus, number>> = { normal: 0, predictive: 1, failure: 2 };

interface Bucket {
  t: number; // seconds since epoch (uPlot's x unit), of the bucket's first point
  n: number;
  sums: number[]; // one per SENSOR_FIELDS entry
  probability: number;
  status: PredictionStatus;
}

/** Columns in uPlot's AlignedData order: x, each sensor, failure probability. */
export type SeriesColumns = [number[], ...number[][]];

export class SeriesBuffer {
  private readonly ring: RingBuffer<Bucket>;
  private revision = 0;

  constructor(
    capacity: number,
    readonly bucketMs: number,
    readonly windowMs: number,
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
    if (last && ms - last.t * 1000 < this.bucketMs) merge(last, point);
    else this.ring.push(newBucket(ms, point));
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
    const sensors = SENSOR_FIELDS.map((_, i) => buckets.map((b) => (b.sums[i] ?? 0) / b.n));
    return [xs, ...sensors, buckets.map((b) => b.probability)];
  }
}

function newBucket(ms: number, point: HistoryPoint): Bucket {
  return {
    t: ms / 1000,
    n: 1,
    sums: SENSOR_FIELDS.map((f: SensorField) => point[f]),
    probability: point.failure_probability,
    status: point.status,
  };
}

function merge(bucket: Bucket, point: HistoryPoint): void {
  bucket.n += 1;
  SENSOR_FIELDS.forEach((f, i) => {
    bucket.sums[i] = (bucket.sums[i] ?? 0) + point[f];
  });
  bucket.probability = Math.max(bucket.probability, point.failure_probability);
  if (SEVERITY[point.status] > SEVERITY[bucket.status]) bucket.status = point.status;
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
