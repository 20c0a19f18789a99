/**
 * Axis ranges and point visibility for the machine view's charts, free of uPlot so they can
 * be tested without a DOM. Times are in seconds since the epoch (uPlot's x unit).
 */

/** A series with at most this many points draws its points, so a lone reading stays visible. */
export const FEW_POINTS = 30;

/**
 * The x-axis of a chart window: the `windowMs` that end now. Left to itself uPlot stretches
 * a lone point over years; a pinned axis also keeps a sparse series where it belongs in time.
 * A newest point later than `nowMs` (a clock ahead of the browser's) moves the end to it.
 */
export function windowXRange(windowMs: number, nowMs: number, lastX: number | null = null): [number, number] {
  const end = Math.max(nowMs / 1000, lastX ?? -Infinity);
  return [end - windowMs / 1000, end];
}

/** Half-height of the y-axis around a (near-)constant value: 1 % of it, at least 1. */
export function constantPad(value: number): number {
  return Math.max(1, Math.abs(value) / 100);
}

/**
 * The y-axis for a sensor series with data between `min` and `max`, when uPlot's own choice
 * would mislead: a constant series (298.9 K every time) gets 0–600 from it, and a near-constant
 * one blows noise up to full height. Those get `value ± constantPad(value)`. Returns null when
 * the data spread is wide enough for uPlot's default range, or there is no finite data.
 */
export function nearConstantYRange(min: number | null, max: number | null): [number, number] | null {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return null;
  const mid = (min + max) / 2;
  const pad = constantPad(mid);
  if (max - min > pad) return null;
  return [mid - pad, mid + pad];
}

/** Whether a series with `count` points in view should draw them as dots. */
export function showPoints(count: number): boolean {
  return count > 0 && count <= FEW_POINTS;
}
