/** Types of the generator's exports, for tests/contract.test.ts. */
export interface Spec {
  types: string[];
  nullable: boolean;
  enum: string[] | null;
  alias?: string;
}
export interface Python {
  aliases: Record<string, string[]>;
  classes: Record<string, Record<string, string>>;
}
export interface Schema {
  name: string;
  file: string;
  fields: Record<string, Spec>;
  pythonFields: string[] | null;
}
export function parsePayloads(source: string): Python;
export function annotationToSpec(annotation: string, aliases: Record<string, string[]>): Spec | null;
export function describeExample(file: string, example: Record<string, unknown>, python: Python): Schema;
export function render(schemas: Schema[], aliases: Record<string, string[]>): string;
