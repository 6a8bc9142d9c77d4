/** Types of the node field table (fields.mjs) for the TypeScript tests. */
export interface FieldEntry {
  key: string;
  bit: number;
  wire: 'fixed' | 'f32' | 'str' | 'bool' | 'color' | 'colorOrNull' | 'enum' | 'points' | 'crop' | 'clickable' | 'shadow' | 'flag';
  def: string;
  enum?: string;
  pos?: 'x' | 'y' | 'points';
  plane?: 'x' | 'y' | 'points' | 'width' | 'height' | 'length';
  required?: boolean;
  coerce?: 'string' | 'nullish' | 'boolean';
  constant?: string;
  label?: string;
  doc: string;
  get?: string;
}
export interface EnumEntry {
  doc: string;
  list: string;
  values: string[];
  what: string;
  unknown: number;
}
export interface KindEntry {
  name: string;
  kind: string;
  prefix: string;
  container?: boolean;
  translateXyWhen?: { key: string; is: string };
  fields: FieldEntry[];
}
export declare const ENUMS: Record<string, EnumEntry>;
export declare const COMMON: FieldEntry[];
export declare const KINDS: KindEntry[];
