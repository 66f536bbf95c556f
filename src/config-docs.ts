/**
 * The settings as documentation, read from the config schema at runtime: one entry per
 * setting with its meaning, allowed values, default and an example. Help text and the
 * README's settings table are built from here, so they cannot drift from the schema.
 */
import { z } from 'zod';
import { ConfigSchema, type Config } from './config.js';

/** One setting, as the docs show it. */
export interface SettingDoc {
  /** Dotted key, as in a config file: `concurrency`, `filter.low`. */
  key: string;
  /** Meaning and unit. */
  description: string;
  /** Allowed values: bounds, choices or shape, e.g. `integer ≥ 1`, `0–1`, `local | llm | cascade`. */
  allowed: string;
  /** The default, as text; for a setting without one, what leaving it unset means. */
  default: string;
  /** Whether `default` is a value (`false`: it says what unset means). */
  hasDefault: boolean;
  /** A typical value, as text. */
  example: string;
}

type Section = 'segment' | 'filter' | 'dedup' | 'extract' | 'validate' | 'synthesize';

/** Every setting's dotted key (sections are one level deep). */
export type SettingKey = Exclude<keyof Config, Section> | { [S in Section]: `${S}.${keyof Config[S] & string}` }[Section];

/** The parts of a JSON Schema node read here (zod's metadata is copied into it). */
interface Node {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  unset?: string;
  allowed?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  items?: Node;
  anyOf?: Node[];
  properties?: Record<string, Node>;
}

/** A value as help text and the README write it: strings bare, lists in brackets. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${k}: ${formatValue(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return String(value);
}

function bounds(node: Node): string {
  const kind = node.type === 'integer' ? 'integer ' : '';
  // zod writes the largest safe integer as the maximum of every `.int()`: not a real bound.
  const max = node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
  const { minimum: min, exclusiveMinimum: xmin } = node;
  if (min !== undefined && max !== undefined) return `${kind}${min}–${max}`;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`≥ ${min}`);
  if (xmin !== undefined) parts.push(`> ${xmin}`);
  if (max !== undefined) parts.push(`≤ ${max}`);
  return parts.length > 0 ? `${kind}${parts.join(', ')}` : (kind.trim() || 'number');
}

/** Allowed values in words, from the schema node (or the setting's own `allowed` text). */
function allowedOf(node: Node): string {
  if (node.allowed !== undefined) return node.allowed;
  if (node.enum !== undefined) return node.enum.map(formatValue).join(' | ');
  if (node.const !== undefined) return formatValue(node.const);
  if (node.anyOf !== undefined) return node.anyOf.map(allowedOf).join(' | ');
  switch (node.type) {
    case 'integer':
    case 'number':
      return bounds(node);
    case 'boolean':
      return 'true | false';
    case 'string':
      return 'text';
    case 'array':
      return node.items?.enum !== undefined ? `any of ${node.items.enum.map(formatValue).join(', ')}` : `list of ${allowedOf(node.items ?? {})}`;
    default:
      return 'see meaning';
  }
}

let cache: Map<string, SettingDoc> | undefined;

/** Every setting in schema order; a titled object is a section whose fields are settings. */
export function settingDocs(): SettingDoc[] {
  if (cache === undefined) {
    cache = new Map();
    const root = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Node;
    const walk = (props: Record<string, Node>, prefix: string): void => {
      for (const [name, node] of Object.entries(props)) {
        const key = `${prefix}${name}`;
        if (node.title !== undefined && node.properties !== undefined) {
          walk(node.properties, `${key}.`);
          continue;
        }
        const hasDefault = 'default' in node;
        cache?.set(key, {
          key,
          description: node.description ?? '',
          allowed: allowedOf(node),
          default: hasDefault ? formatValue(node.default) : (node.unset ?? ''),
          hasDefault,
          example: node.examples?.[0] === undefined ? '' : formatValue(node.examples[0]),
        });
      }
    };
    walk(root.properties ?? {}, '');
  }
  return [...cache.values()];
}

/** The docs of one setting. */
export function settingDoc(key: SettingKey): SettingDoc {
  const found = settingDocs().find((d) => d.key === key);
  if (found === undefined) throw new Error(`no setting "${key}" in the config schema`);
  return found;
}

/** `(default 16)`: the suffix of a flag's help text, from the schema's default. */
export function describeDefault(key: SettingKey): string {
  return `(default ${settingDoc(key).default})`;
}

/** The README's settings table (markdown), one row per setting. */
export function settingsTable(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = settingDocs().map((d) => {
    const def = d.hasDefault ? `\`${d.default}\`` : `unset: ${d.default}`;
    return `| \`${d.key}\` | ${cell(def)} | ${cell(d.allowed)} | ${cell(d.description)} |`;
  });
  return ['| setting | default | allowed | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
