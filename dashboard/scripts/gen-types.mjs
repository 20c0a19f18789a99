#!/usr/bin/env node
/**
 * Generate src/api/contract.gen.ts from the shared contract, so the dashboard never
 * re-declares payload types by hand.
 *
 * Usage: node scripts/gen-types.mjs [--contract ../contract] [--out src/api/contract.gen.ts]
 *
 * Field names, their order and their JSON types come from contract/examples/*.json (one
 * interface per file: prediction.json -> Prediction). contract/payloads.py refines them:
 * `X | None` makes a field nullable and `Literal[...]` aliases become string unions. A value
 * in an example that contradicts its Python annotation stops the generator with a message.
 * Besides the types, the file exports CONTRACT_SCHEMAS, a runtime description that the
 * Vitest suite checks every example against, so drift fails a test.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** String unions of the status fields, for when payloads.py (whose Literal aliases say the same) cannot be read. */
const FALLBACK_UNIONS = {
  status: ['normal', 'predictive', 'failure'],
  kind: ['predicted', 'detected'],
  state: ['open', 'cleared'],
};

function parseArgs(argv) {
  const args = { contract: resolve(HERE, '../../contract'), out: resolve(HERE, '../src/api/contract.gen.ts') };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    if (!(key in args) || argv[i + 1] === undefined) {
      throw new Error(`unknown or incomplete argument ${argv[i]} (expected --contract DIR or --out FILE)`);
    }
    args[key] = resolve(argv[i + 1]);
  }
  return args;
}

function pascal(name) {
  return name.replace(/(^|[_-])(\w)/g, (_, __, c) => c.toUpperCase());
}

function literalValues(body) {
  return [...body.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2]);
}

/** Read Literal aliases and dataclass field annotations from payloads.py. */
export function parsePayloads(source) {
  const aliases = {};
  for (const m of source.matchAll(/^(\w+) = Literal\[(.*)\]\s*$/gm)) aliases[m[1]] = literalValues(m[2]);
  const classes = {};
  for (const m of source.matchAll(/^class (\w+)\([^)]*\):\n((?:(?: {4}.*)?\n)+)/gm)) {
    const fields = {};
    for (const f of m[2].matchAll(/^ {4}(\w+): ([^=\n]+?)(?:\s*=.*)?$/gm)) fields[f[1]] = f[2].trim();
    classes[m[1]] = fields;
  }
  return { aliases, classes };
}

/** Turn one Python annotation into {types, nullable, enum}; null when it is not understood. */
export function annotationToSpec(annotation, aliases) {
  const parts = annotation.split('|').map((p) => p.trim());
  const nullable = parts.includes('None');
  const rest = parts.filter((p) => p !== 'None');
  if (rest.length !== 1) return null;
  const [core] = rest;
  const inline = /^Literal\[(.*)\]$/.exec(core);
  if (inline) return { types: ['string'], nullable, enum: literalValues(inline[1]) };
  if (aliases[core]) return { types: ['string'], nullable, enum: aliases[core], alias: core };
  const simple = { str: 'string', int: 'number', float: 'number', bool: 'boolean' }[core];
  if (simple) return { types: [simple], nullable, enum: null };
  if (/^dict\[/.test(core)) return { types: ['object'], nullable, enum: null };
  if (/^(list|tuple)\[/.test(core)) return { types: ['array'], nullable, enum: null };
  return null;
}

function jsonType(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function specFromExample(field, value) {
  const type = jsonType(value);
  const known = FALLBACK_UNIONS[field];
  if (known && type === 'string') return { types: ['string'], nullable: false, enum: known };
  if (type === 'null') return { types: [], nullable: true, enum: null };
  return { types: [type], nullable: false, enum: null };
}

function checkAgainstExample(name, field, spec, value) {
  const type = jsonType(value);
  const ok = (type === 'null' && spec.nullable) || spec.types.includes(type);
  if (!ok) throw new Error(`${name}.${field}: example value ${JSON.stringify(value)} does not fit payloads.py`);
  if (spec.enum && type === 'string' && !spec.enum.includes(value)) {
    throw new Error(`${name}.${field}: example value ${JSON.stringify(value)} not in ${spec.enum.join('|')}`);
  }
}

function tsType(spec) {
  const base = spec.alias
    ? spec.alias
    : spec.enum
    ? spec.enum.map((v) => JSON.stringify(v)).join(' | ')
    : spec.types.map((t) => ({ object: 'Record<string, unknown>', array: 'unknown[]' })[t] ?? t).join(' | ');
  if (!base) return 'unknown';
  return spec.nullable ? `${base} | null` : base;
}

/** Describe one example file: its interface name, fields and the Python fields if known. */
export function describeExample(file, example, python) {
  const name = pascal(basename(file, '.json'));
  const annotations = python.classes[name] ?? null;
  const fields = {};
  for (const [field, value] of Object.entries(example)) {
    const annotation = annotations?.[field];
    const spec = (annotation && annotationToSpec(annotation, python.aliases)) || specFromExample(field, value);
    checkAgainstExample(name, field, spec, value);
    fields[field] = spec;
  }
  return { name, file: basename(file), fields, pythonFields: annotations ? Object.keys(annotations) : null };
}

function renderInterface(schema) {
  const lines = Object.entries(schema.fields).map(([field, spec]) => `  ${field}: ${tsType(spec)};`);
  return `/** Payload of contract/examples/${schema.file}. */\nexport interface ${schema.name} {\n${lines.join('\n')}\n}\n`;
}

function renderAliases(aliases) {
  return Object.entries(aliases)
    .map(([alias, values]) => `export type ${alias} = ${values.map((v) => JSON.stringify(v)).join(' | ')};\n`)
    .join('');
}

export function render(schemas, aliases) {
  const header =
    '// GENERATED by scripts/gen-types.mjs from ../contract/examples/*.json and ../contract/payloads.py.\n' +
    '// Do not edit: run `npm run gen-types` (done before build, test, lint and typecheck).\n\n';
  const table = Object.fromEntries(schemas.map((s) => [s.file.replace(/\.json$/, ''), s]));
  return (
    header +
    renderAliases(aliases) +
    '\n' +
    schemas.map(renderInterface).join('\n') +
    '\nexport interface FieldSpec {\n  readonly types: readonly string[];\n  readonly nullable: boolean;\n' +
    '  readonly enum: readonly string[] | null;\n  readonly alias?: string;\n}\n\n' +
    'export interface PayloadSchema {\n  readonly name: string;\n  readonly file: string;\n' +
    '  readonly fields: Readonly<Record<string, FieldSpec>>;\n  readonly pythonFields: readonly string[] | null;\n}\n\n' +
    '/** Runtime description of every example, checked by tests/contract.test.ts. */\n' +
    `export const CONTRACT_SCHEMAS: Readonly<Record<string, PayloadSchema>> = ${JSON.stringify(table, null, 2)};\n`
  );
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const examplesDir = join(args.contract, 'examples');
  let python = { aliases: {}, classes: {} };
  try {
    python = parsePayloads(readFileSync(join(args.contract, 'payloads.py'), 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    console.warn('gen-types: payloads.py not found, using the examples alone');
  }
  const files = readdirSync(examplesDir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no example payloads in ${examplesDir}`);
  const schemas = files.map((f) => describeExample(f, JSON.parse(readFileSync(join(examplesDir, f), 'utf8')), python));
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, render(schemas, python.aliases));
  console.log(`gen-types: ${schemas.map((s) => s.name).join(', ')} -> ${args.out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    console.error(`gen-types: ${err.message}`);
    process.exit(1);
  }
}
