/** The generated types must match every contract example, and payloads.py must match them. */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { annotationToSpec, describeExample, parsePayloads, render } from '../scripts/gen-types.mjs';
import { CONTRACT_SCHEMAS } from '../src/api/contract.gen';
import type { FieldSpec } from '../src/api/contract.gen';
import { EXAMPLES_DIR, readExample } from './fixtures';

const exampleNames = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''));

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function fits(spec: FieldSpec, value: unknown): boolean {
  const type = jsonType(value);
  if (type === 'null') return spec.nullable;
  if (!spec.types.includes(type)) return false;
  return spec.enum === null || spec.enum.includes(value as string);
}

describe('contract.gen.ts against contract/examples', () => {
  it('has a schema for every example file', () => {
    expect(exampleNames.length).toBeGreaterThanOrEqual(5);
    expect(Object.keys(CONTRACT_SCHEMAS).sort()).toEqual([...exampleNames].sort());
  });

  it.each(exampleNames)('%s.json has exactly the generated keys, each of a fitting type', (name) => {
    const example = readExample(name) as Record<string, unknown>;
    const schema = CONTRACT_SCHEMAS[name];
    expect(schema).toBeDefined();
    expect(Object.keys(example)).toEqual(Object.keys(schema?.fields ?? {}));
    for (const [field, spec] of Object.entries(schema?.fields ?? {})) {
      expect(fits(spec, example[field]), `${name}.${field} = ${JSON.stringify(example[field])}`).toBe(true);
    }
  });

  it.each(exampleNames)('%s.json lists the same fields as its dataclass in payloads.py', (name) => {
    const schema = CONTRACT_SCHEMAS[name];
    expect(schema?.pythonFields, `no dataclass found for ${name}`).not.toBeNull();
    expect([...(schema?.pythonFields ?? [])].sort()).toEqual(Object.keys(readExample(name) as object).sort());
  });

  it('knows the status, kind and state unions', () => {
    expect(CONTRACT_SCHEMAS.prediction?.fields.status?.enum).toEqual(['normal', 'predictive', 'failure']);
    expect(CONTRACT_SCHEMAS.alert?.fields.kind?.enum).toEqual(['predicted', 'detected']);
    expect(CONTRACT_SCHEMAS.alert?.fields.state?.enum).toEqual(['open', 'cleared']);
    expect(CONTRACT_SCHEMAS.prediction?.fields.explanation?.nullable).toBe(true);
    expect(CONTRACT_SCHEMAS.alert?.fields.cleared_at?.nullable).toBe(true);
  });
});

describe('gen-types generator', () => {
  const python = parsePayloads(
    'Mode = Literal["a", "b"]\n\n\n@dataclass\nclass Thing(_JsonPayload):\n    """Doc."""\n\n' +
      '    name: str\n    mode: Mode\n    size: float | None = None\n    extra: dict[str, Any] | None = None\n',
  );

  it('reads Literal aliases and dataclass annotations', () => {
    expect(python.aliases).toEqual({ Mode: ['a', 'b'] });
    expect(python.classes.Thing).toEqual({ name: 'str', mode: 'Mode', size: 'float | None', extra: 'dict[str, Any] | None' });
  });

  it('maps annotations to JSON types', () => {
    expect(annotationToSpec('float | None', {})).toEqual({ types: ['number'], nullable: true, enum: null });
    expect(annotationToSpec('Literal["x", "y"]', {})).toEqual({ types: ['string'], nullable: false, enum: ['x', 'y'] });
    expect(annotationToSpec('Mode', python.aliases)).toMatchObject({ enum: ['a', 'b'], alias: 'Mode' });
  });

  it('writes nullable and union fields into the interface', () => {
    const schema = describeExample('thing.json', { name: 'n', mode: 'a', size: null, extra: null }, python);
    const text = render([schema], python.aliases);
    expect(text).toContain('export type Mode = "a" | "b";');
    expect(text).toMatch(/export interface Thing \{\n {2}name: string;\n {2}mode: Mode;\n {2}size: number \| null;/);
    expect(text).toContain('extra: Record<string, unknown> | null;');
  });

  it('refuses an example that contradicts payloads.py', () => {
    expect(() => describeExample('thing.json', { name: 'n', mode: 'zzz', size: null, extra: null }, python)).toThrow(/not in a\|b/);
    expect(() => describeExample('thing.json', { name: 3, mode: 'a', size: null, extra: null }, python)).toThrow(/Thing\.name/);
  });
});
