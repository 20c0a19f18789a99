/** gen-types: the contract's JSON Schemas -> TypeScript, and what it generated from them. */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, mergeSchemas, readSchemas, withoutTitles } from '../scripts/gen-types.mjs';
import { CONTRACT_TYPES } from '../src/api/contract.gen';
import { readExample } from './fixtures';

const SCHEMA_FILE = resolve(import.meta.dirname, '../schemas/contract.json');

describe('the generated contract types', () => {
  it('cover every payload of the contract and the profile format', () => {
    expect([...CONTRACT_TYPES].sort()).toEqual(['Alert', 'Prediction', 'Profile', 'Reading', 'Rejection', 'Status']);
  });

  it('come from schemas whose properties are exactly the example payloads\' keys', () => {
    const schemas = readSchemas(SCHEMA_FILE) as Record<string, { properties: Record<string, unknown> }>;
    for (const [name, example] of [['Prediction', 'prediction'], ['Alert', 'alert'], ['Status', 'status'], ['Rejection', 'rejection']]) {
      expect(Object.keys(schemas[name ?? '']?.properties ?? {}).sort(), name).toEqual(
        Object.keys(readExample(example ?? '') as object).sort(),
      );
    }
  });
});

describe('gen-types generator', () => {
  const thing = {
    title: 'Thing',
    type: 'object',
    properties: {
      name: { title: 'Name', type: 'string' },
      mode: { title: 'Mode', enum: ['a', 'b'], type: 'string' },
      size: { anyOf: [{ type: 'number' }, { type: 'null' }], title: 'Size' },
      part: { $ref: '#/$defs/Part' },
    },
    required: ['name', 'mode', 'size'],
    $defs: { Part: { type: 'object', properties: { id: { title: 'Id', type: 'string' } }, required: ['id'] } },
  };

  it('drops property titles (they would become clashing aliases) but keeps the rest', () => {
    expect(withoutTitles({ title: 'X', properties: { a: { title: 'A', type: 'string' } } })).toEqual({
      properties: { a: { type: 'string' } },
    });
  });

  it('merges the definitions of every schema and refuses two different ones of one name', () => {
    const merged = mergeSchemas({ 'thing.json': thing });
    expect(Object.keys(merged.document.$defs).sort()).toEqual(['Part', 'Thing']);
    expect(merged.titles).toEqual(['Thing']);
    const other = { title: 'Other', type: 'object', $defs: { Part: { type: 'string' } } };
    expect(() => mergeSchemas({ 'thing.json': thing, 'other.json': other })).toThrow(/Part differs/);
    expect(() => mergeSchemas({ 'bad.json': { type: 'object' } })).toThrow(/needs a title/);
  });

  it('writes one interface per schema and definition, nullable and union fields included', async () => {
    const text = await generate({ 'thing.json': thing });
    expect(text).toMatch(/export interface Thing \{\n {2}name: string;\n {2}mode: "a" \| "b";\n {2}size: number \| null;\n {2}part\?: Part;/);
    expect(text).toMatch(/export interface Part \{\n {2}id: string;\n\}/);
    expect(text).toContain('export const CONTRACT_TYPES = ["Thing"] as const;');
  });
});
