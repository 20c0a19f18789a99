/** Types of the generator's exports, for tests/contract.test.ts. */
export interface Merged {
  document: { title: string; properties: Record<string, unknown>; $defs: Record<string, unknown> };
  titles: string[];
}
export function mergeSchemas(named: Record<string, unknown>): Merged;
export function generate(named: Record<string, unknown>): Promise<string>;
export function schemasOf(document: unknown, source?: string): Record<string, unknown>;
export function readSchemas(file: string): Record<string, unknown>;
export function withoutTitles(node: unknown): unknown;
