/**
 * Decoding of the API's server-sent events. Anything malformed is dropped (returns null)
 * rather than breaking the page: the stream is outside the dashboard's control.
 */
import type { LiveEvent } from './live';

export const EVENT_KINDS = ['prediction', 'alert', 'status'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasStrings(record: Record<string, unknown>, names: readonly string[]): boolean {
  return names.every((n) => typeof record[n] === 'string');
}

function validPrediction(d: Record<string, unknown>): boolean {
  return (
    hasStrings(d, ['machine_id', 'reading_id', 'ts', 'status', 'profile']) &&
    (typeof d.failure_probability === 'number' || d.failure_probability === null) &&
    isRecord(d.values)
  );
}

function validAlert(d: Record<string, unknown>): boolean {
  return hasStrings(d, ['alert_id', 'machine_id', 'state']);
}

function validStatus(d: Record<string, unknown>): boolean {
  return hasStrings(d, ['machine_id', 'ts']) && typeof d.online === 'boolean';
}

/** Turn one SSE message (event name, data text, lastEventId) into a LiveEvent, or null. */
export function parseLiveEvent(kind: string, data: string, lastEventId: string): LiveEvent | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(parsed)) return null;
  const numeric = Number.parseInt(lastEventId, 10);
  const id = Number.isFinite(numeric) ? numeric : null;
  // The validators check the fields the reducer relies on; the rest is the contract's.
  if (kind === 'prediction' && validPrediction(parsed)) return { kind, id, data: parsed as never };
  if (kind === 'alert' && validAlert(parsed)) return { kind, id, data: parsed as never };
  if (kind === 'status' && validStatus(parsed)) return { kind, id, data: parsed as never };
  return null;
}
