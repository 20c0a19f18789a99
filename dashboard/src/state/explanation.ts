/**
 * Defensive reading of a prediction's `explanation`, which the model may omit (null) or
 * shape differently in a later version: bad entries are skipped, never thrown on.
 */
export interface Contribution {
  feature: string;
  value: number | null;
  contribution: number;
}

export interface Condition {
  mode: string;
  text: string;
  margin: number | null;
}

export interface Explanation {
  contributions: Contribution[];
  baseValue: number | null;
  conditions: Condition[];
}

type Loose = Record<string, unknown>;

function isLoose(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function contribution(entry: unknown): Contribution | null {
  if (!isLoose(entry) || typeof entry.feature !== 'string') return null;
  const amount = finite(entry.contribution);
  return amount === null ? null : { feature: entry.feature, value: finite(entry.value), contribution: amount };
}

function condition(entry: unknown): Condition | null {
  if (!isLoose(entry) || typeof entry.text !== 'string') return null;
  return { mode: typeof entry.mode === 'string' ? entry.mode : '', text: entry.text, margin: finite(entry.margin) };
}

function list<T>(value: unknown, parse: (entry: unknown) => T | null): T[] {
  return Array.isArray(value) ? value.map(parse).filter((x): x is T => x !== null) : [];
}

/** Contributions sorted by absolute size, largest first; null when nothing is usable. */
export function parseExplanation(raw: unknown): Explanation | null {
  if (!isLoose(raw)) return null;
  const contributions = list(raw.contributions, contribution).sort(
    (a, b) => Math.abs(b.contribution) - Math.abs(a.contribution),
  );
  const conditions = list(raw.conditions, condition);
  const baseValue = finite(raw.base_value);
  if (contributions.length === 0 && conditions.length === 0 && baseValue === null) return null;
  return { contributions, baseValue, conditions };
}
