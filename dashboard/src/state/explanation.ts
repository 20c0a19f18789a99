/**
 * Defensive reading of a prediction's `explanation`, which the model may omit (null) or
 * shape differently in a later version: bad entries are skipped, never thrown on.
 *
 * Shape (model/explain.py, inference_worker/early_warning.py):
 * `{base_value, rest, contributions: [{feature, value, contribution}],
 *   conditions: [{mode, holds, margin, text}], early_warning?: {mode, counter, remaining, unit, text}}`
 * (explanations stored before profiles carry `remaining_min` instead of `remaining` + `unit`)
 * where base_value + Σ contribution + rest = the failure probability. A RUL model's or an
 * anomaly detector's (inference_worker/series.py): `{text, contributions: [{feature, value,
 * healthy, contribution}]}`, each contribution the output minus the output with that feature
 * set back to its healthy mean.
 */
export interface Contribution {
  feature: string;
  value: number | null;
  contribution: number;
  /** A RUL model's or detector's reference: the feature's mean over healthy training readings. */
  healthy: number | null;
}

export interface Condition {
  mode: string;
  text: string;
  margin: number | null;
  /** true: the failure-mode rule is met; false: nearly met; null: not said. */
  holds: boolean | null;
}

export interface EarlyWarning {
  mode: string;
  /** The counter field running into the limit (the profile's), when the worker said. */
  counter: string;
  /** Counter units left before the failure region; 0 or less: already inside. */
  remaining: number | null;
  /** The counter's unit ('' when not given). */
  unit: string;
  text: string;
}

export interface Explanation {
  contributions: Contribution[];
  baseValue: number | null;
  conditions: Condition[];
  /** The features not listed, summed. */
  rest: number | null;
  earlyWarning: EarlyWarning | null;
  /** The model's own sentence (RUL models and anomaly detectors say what they found). */
  text: string;
}

type Loose = Record<string, unknown>;

function isLoose(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function contribution(entry: unknown): Contribution | null {
  if (!isLoose(entry) || typeof entry.feature !== 'string') return null;
  const amount = finite(entry.contribution);
  return amount === null ? null : { feature: entry.feature, value: finite(entry.value), contribution: amount, healthy: finite(entry.healthy) };
}

function condition(entry: unknown): Condition | null {
  if (!isLoose(entry) || typeof entry.text !== 'string') return null;
  const holds = typeof entry.holds === 'boolean' ? entry.holds : null;
  return { mode: text(entry.mode), text: entry.text, margin: finite(entry.margin), holds };
}

/** A warning needs words to show: its text, or at least the minutes left. */
function earlyWarning(raw: unknown): EarlyWarning | null {
  if (!isLoose(raw)) return null;
  const legacy = finite(raw.remaining_min); // stored before profiles: minutes of tool use
  const remaining = finite(raw.remaining) ?? legacy;
  const words = text(raw.text).trim();
  if (!words && remaining === null) return null;
  const unit = text(raw.unit) || (legacy !== null && finite(raw.remaining) === null ? 'min' : '');
  return { mode: text(raw.mode), counter: text(raw.counter), remaining, unit, text: words };
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
  const warning = earlyWarning(raw.early_warning);
  const said = text(raw.text).trim();
  if (contributions.length === 0 && conditions.length === 0 && baseValue === null && warning === null && !said) return null;
  return { contributions, baseValue, conditions, rest: finite(raw.rest), earlyWarning: warning, text: said };
}

/** base + Σ contributions + rest: the probability the explanation adds up to, when complete. */
export function explainedTotal(explanation: Explanation): number | null {
  if (explanation.baseValue === null) return null;
  const listed = explanation.contributions.reduce((sum, c) => sum + c.contribution, 0);
  return explanation.baseValue + listed + (explanation.rest ?? 0);
}

/** How the early warning's remaining amount reads ("about 12 min of tool use left"), or inside the region already. */
export function remainingText(remaining: number | null, counter?: { unit: string; usage: string }): string | null {
  if (remaining === null) return null;
  if (remaining <= 0) return 'inside the failure region now';
  const amount = `about ${Math.round(remaining)}${counter?.unit ? ` ${counter.unit}` : ''}`;
  return counter?.usage ? `${amount} of ${counter.usage} left` : `${amount} left`;
}
