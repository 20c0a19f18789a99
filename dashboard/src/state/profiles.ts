/**
 * What the dashboard shows of a machine comes from its profile (GET /api/profiles): the
 * fields with their labels, units and decimals, the failure modes by name, the derived
 * features. Pure helpers over the profile documents; nothing here knows a field by name.
 */
import type { Profile } from '../api/client';

/** How one number is shown: its label, unit and decimals (from the profile). */
export interface FieldMeta {
  name: string;
  label: string;
  unit: string;
  decimals: number;
}

export type ProfileMap = Readonly<Record<string, Profile>>;

type AnyField = Profile['fields'][number];

function isNumeric(field: AnyField): field is Extract<AnyField, { kind: 'sensor' | 'counter' }> {
  return field.kind === 'sensor' || field.kind === 'counter';
}

function meta(name: string, label: string | undefined, unit: string | undefined, decimals: number | undefined): FieldMeta {
  return { name, label: label ?? name, unit: unit ?? '', decimals: decimals ?? 2 };
}

/** The profile's sensors and counters, in its order: the machine view's charts and the log's columns. */
export function numericFields(profile: Profile | undefined): FieldMeta[] {
  if (!profile) return [];
  return profile.fields.filter(isNumeric).map((f) => meta(f.name, f.label, f.unit, f.decimals));
}

/** Every field of the profile (categories and texts too), for the reading's details. */
export function allFields(profile: Profile | undefined): (FieldMeta & { kind: AnyField['kind'] })[] {
  if (!profile) return [];
  return profile.fields.map((f) => ({ ...meta(f.name, f.label, isNumeric(f) ? f.unit : '', isNumeric(f) ? f.decimals : 0), kind: f.kind }));
}

/** A field or derived feature by name; a name the profile does not know is shown as it is. */
export function quantityMeta(profile: Profile | undefined, name: string): FieldMeta {
  const field = profile?.fields.find((f) => f.name === name);
  if (field) return isNumeric(field) ? meta(field.name, field.label, field.unit, field.decimals) : meta(name, field.label, '', 0);
  const derived = profile?.derived?.find((d) => d.name === name);
  return derived ? meta(derived.name, derived.label, derived.unit, derived.decimals) : meta(name, undefined, undefined, undefined);
}

const WINDOW_FEATURE = /^([a-z][a-z0-9_]*)_(mean|slope|min|max)(all|\d+)(?:_b(\d+))?$/;
const STAT_WORDS: Readonly<Record<string, string>> = { mean: 'mean', slope: 'slope', min: 'minimum', max: 'maximum' };

/**
 * A model feature by name: a field or derived feature of the profile, or a rolling window
 * statistic of a field (model/windows.py names them `<field>_<stat><N|all>[_b<baseline>]`),
 * said with the field's label: "exhaust temperature, mean of the last 30".
 */
export function featureMeta(profile: Profile | undefined, name: string): FieldMeta {
  const direct = quantityMeta(profile, name);
  if (direct.label !== name) return direct;
  const match = WINDOW_FEATURE.exec(name);
  const field = match ? profile?.fields.find((f) => f.name === match[1]) : undefined;
  if (!match || !field) return direct;
  const base = quantityMeta(profile, field.name);
  const [, , stat = '', size = '', baseline] = match;
  const span = size === 'all' ? 'since new' : `of the last ${size}`;
  const relative = baseline ? `, relative to the first ${baseline}` : '';
  return { ...base, name, label: `${base.label}, ${STAT_WORDS[stat] ?? stat} ${span}${relative}`, unit: stat === 'slope' ? '' : base.unit };
}

/** "Label (unit)", or the label alone for a unitless quantity. */
export function labelWithUnit(field: FieldMeta): string {
  return field.unit ? `${field.label} (${field.unit})` : field.label;
}

/** The profile's failure modes by code: their names, for tooltips and texts. */
export function modeNames(profile: Profile | undefined): Readonly<Record<string, string>> {
  return Object.fromEntries((profile?.failure_modes ?? []).map((m) => [m.code, m.name]));
}

/**
 * The numeric columns shared by a set of profiles, in the first one's order: the log shows
 * them as columns when every row can have them (one profile, or profiles that agree).
 */
export function sharedNumericFields(profiles: readonly (Profile | undefined)[]): FieldMeta[] {
  const known = profiles.filter((p): p is Profile => p !== undefined);
  const [first, ...rest] = known;
  if (!first || known.length < profiles.length) return [];
  return numericFields(first).filter((f) => rest.every((p) => numericFields(p).some((g) => g.name === f.name && g.unit === f.unit)));
}

/** "label 1.2 unit" pieces for the values a reading carries, in the profile's order. */
export function valueSummary(profile: Profile | undefined, values: Readonly<Record<string, unknown>>): string {
  const fields = profile ? numericFields(profile) : Object.keys(values).map((name) => meta(name, undefined, undefined, undefined));
  return fields
    .flatMap((f) => {
      const value = values[f.name];
      return typeof value === 'number' && Number.isFinite(value) ? [`${f.label} ${value.toFixed(f.decimals)}${f.unit ? ` ${f.unit}` : ''}`] : [];
    })
    .join(', ');
}

/** The counter whose limit the early warning of `mode` watches: its unit and what it counts. */
export function warningCounter(profile: Profile | undefined, mode: string): { unit: string; usage: string } | undefined {
  const limit = profile?.physics?.early_warning?.limits.find((l) => l.mode === mode);
  const field = limit ? profile?.fields.find((f) => f.name === limit.counter) : undefined;
  return field?.kind === 'counter' ? { unit: field.unit ?? '', usage: field.usage ?? '' } : undefined;
}
