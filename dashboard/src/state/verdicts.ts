/** Verdicts and maintenance actions: their words, in the order the controls offer them. */
import type { MaintenanceAction, Verdict, VerdictKind } from '../api/client';

export const VERDICT_LABELS: Readonly<Record<VerdictKind, string>> = {
  real_failure: 'real failure',
  false_alarm: 'false alarm',
  planned_maintenance: 'planned maintenance',
  unsure: 'unsure',
};

export const MAINTENANCE_LABELS: Readonly<Record<MaintenanceAction, string>> = {
  tool_replaced: 'tool replaced',
  repaired: 'repaired',
  inspected: 'inspected',
  other: 'other',
};

export function isVerdictKind(value: string): value is VerdictKind {
  return Object.hasOwn(VERDICT_LABELS, value);
}

/** 'false alarm by Ana' / 'real failure (TWF) by Bo'. */
export function verdictText(verdict: Verdict): string {
  const mode = verdict.mode ? ` (${verdict.mode})` : '';
  return `${VERDICT_LABELS[verdict.verdict]}${mode}${verdict.by ? ` by ${verdict.by}` : ''}`;
}

/** The latest verdict of each alert, from a list newest first (as GET /api/verdicts answers). */
export function latestByAlert(verdicts: readonly Verdict[]): Map<string, Verdict> {
  const latest = new Map<string, Verdict>();
  for (const verdict of verdicts) {
    const known = latest.get(verdict.alert_id);
    if (!known || known.id < verdict.id) latest.set(verdict.alert_id, verdict);
  }
  return latest;
}
