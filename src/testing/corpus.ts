/**
 * A deterministic synthetic corpus for tests and benchmarks: N documents of procedural text
 * ("To cancel an order, first open …, then click …") built from a seeded generator, so that
 * the same options always give byte-identical documents. Documents are produced lazily and
 * can be streamed to a JSONL file without holding the corpus in memory (100k documents ≈ 90 MB).
 *
 * Markers understood by the scripted teacher (`[[drop]]`, `[[bad-args]]`, …) can be mixed in
 * at given rates, so tests get a known spread of outcomes.
 *
 * @example
 * await writeCorpus('corpus.jsonl', { count: 1000, seed: 7 });
 * for (const doc of generateCorpus({ count: 10 })) console.log(doc.id, doc.text.length);
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { seededRandom } from './mock-server.js';

export interface CorpusOptions {
  /** Number of documents. Minimum 0. */
  count: number;
  /** Seed of the generator: the same seed gives the same corpus. @default 1 */
  seed?: number;
  /** Prefix of document ids; ids are `${prefix}${index}` zero-padded to 6 digits. @default 'doc-' */
  idPrefix?: string;
  /**
   * Scripted-teacher markers to append, each with the fraction of documents that get it
   * (drawn independently per document, at most one marker per document, in the order given).
   * @example { '[[drop]]': 0.1, '[[judge-fail]]': 0.05 }
   */
  markers?: Record<string, number>;
  /** Paragraphs of procedure per document (each ≈ 400–700 characters). Minimum 1. @default 1 */
  paragraphs?: number;
  /**
   * Fraction of documents that are narrative prose instead of a procedure: the local
   * heuristic scores them far below the keep threshold, and they carry `[[drop]]` so the
   * scripted teacher's relevance judge drops them too. In [0, 1]. @default 0
   */
  narrative?: number;
}

export interface CorpusDocument {
  id: string;
  text: string;
  /** The marker appended to the text, if any. */
  marker?: string;
}

const SYSTEMS = [
  ['web shop', 'order', 'My orders'],
  ['banking app', 'transfer', 'Payments'],
  ['clinic portal', 'appointment', 'Appointments'],
  ['library website', 'loan', 'My loans'],
  ['airline app', 'booking', 'Trips'],
  ['insurance portal', 'claim', 'Claims'],
  ['utility account', 'meter reading', 'Readings'],
  ['school portal', 'enrollment', 'Courses'],
  ['hotel website', 'reservation', 'Stays'],
  ['tax portal', 'return', 'Filings'],
  ['car rental app', 'rental', 'Rentals'],
  ['gym app', 'membership', 'Membership'],
] as const;

const GOALS = ['cancel', 'change', 'renew', 'transfer', 'pause', 'update', 'dispute', 'confirm'] as const;

const STEP_TEMPLATES = [
  'Log in to your {sys} with your email address and password.',
  'Open the "{menu}" page from the main menu.',
  'Select the {obj} you want to {goal} and check its status.',
  'If the {obj} is already closed, contact support instead of continuing.',
  'Click "{Goal} {obj}" and choose a reason from the list.',
  'Enter the reference number shown on your confirmation email.',
  'Review the summary and click "Submit".',
  'Confirm the request in the dialog; a confirmation email is sent within {n} minutes.',
  'Check that the new status reads "Completed" on the {menu} page.',
  'If a payment is due, select a saved card or add a new one before you continue.',
  'Upload a photo or a PDF of the receipt when the form asks for proof.',
  'Wait for the verification code by text message and type it into the form.',
] as const;

const NOTES = [
  'You must verify your identity before any change to an existing {obj}.',
  'Requests made after 6 pm are processed on the next business day.',
  'Only the account holder can {goal} a {obj}; other users need written permission.',
  'A {obj} that was changed in the last {n} days cannot be changed again online.',
  'Keep the reference number: support asks for it if something goes wrong.',
] as const;

const NAMES = ['Marta', 'Jonas', 'Aiko', 'Peter', 'Leila', 'Tomas', 'Ines', 'Rafael'] as const;
const PLACES = ['the harbour', 'the old mill', 'her grandmother\'s house', 'the station', 'the orchard', 'the village square'] as const;
const NARRATIVE = [
  '{name} walked to {place} in the early evening, as {pron} had done every day that summer.',
  'The rain had stopped, and the streets were quiet except for a dog that barked at nothing.',
  '"We were younger then," {name} said to nobody in particular, and smiled.',
  'Years later {pron} remembered the smell of bread and the sound of the bells.',
  'Nobody knew why the letter had never arrived, and {name} never asked.',
  'The old man told stories about the winter when the river froze and the boats stayed in.',
  'They sat on the bench for a long time and watched the light change over {place}.',
] as const;

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => vars[key] ?? key);
}

function pad(index: number): string {
  return String(index).padStart(6, '0');
}

/** The document at `index` of the corpus: a pure function of (options, index). */
export function corpusDocument(options: CorpusOptions, index: number): CorpusDocument {
  const seed = options.seed ?? 1;
  const random = seededRandom((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  if (options.narrative !== undefined && options.narrative > 0 && random() < options.narrative) {
    const vars = { name: pick(NAMES), place: pick(PLACES), pron: random() < 0.5 ? 'she' : 'he' };
    const sentences: string[] = [];
    const start = Math.floor(random() * NARRATIVE.length);
    for (let s = 0; s < 6; s++) sentences.push(fill(NARRATIVE[(start + s * 3) % NARRATIVE.length]!, vars));
    return { id: `${options.idPrefix ?? 'doc-'}${pad(index)}`, text: `${sentences.join(' ')}\n\n[[drop]]`, marker: '[[drop]]' };
  }
  const paragraphs: string[] = [];
  for (let p = 0; p < Math.max(1, options.paragraphs ?? 1); p++) {
    const [sys, obj, menu] = pick(SYSTEMS);
    const goal = pick(GOALS);
    const vars = { sys, obj, menu, goal, Goal: goal[0]!.toUpperCase() + goal.slice(1), n: String(2 + Math.floor(random() * 28)) };
    const steps: string[] = [];
    const stepCount = 4 + Math.floor(random() * 4);
    const start = Math.floor(random() * STEP_TEMPLATES.length);
    for (let s = 0; s < stepCount; s++) steps.push(`${s + 1}. ${fill(STEP_TEMPLATES[(start + s * 5) % STEP_TEMPLATES.length]!, vars)}`);
    paragraphs.push(
      `## How to ${goal} a ${obj} in the ${sys} (#${index}.${p})\n\n` +
        `To ${goal} a ${obj}, follow these steps:\n\n${steps.join('\n')}\n\n${fill(pick(NOTES), vars)}`,
    );
  }
  let marker: string | undefined;
  for (const [name, rate] of Object.entries(options.markers ?? {})) {
    if (random() < rate) {
      marker = name;
      break;
    }
  }
  const text = marker === undefined ? paragraphs.join('\n\n') : `${paragraphs.join('\n\n')}\n\n${marker}`;
  const doc: CorpusDocument = { id: `${options.idPrefix ?? 'doc-'}${pad(index)}`, text };
  if (marker !== undefined) doc.marker = marker;
  return doc;
}

/** The documents of the corpus, lazily. */
export function* generateCorpus(options: CorpusOptions): Generator<CorpusDocument> {
  for (let i = 0; i < options.count; i++) yield corpusDocument(options, i);
}

/** One JSONL line per document (`{"id","text"}`, no trailing newline). */
export function corpusLines(options: CorpusOptions): string[] {
  return [...generateCorpus(options)].map((d) => JSON.stringify({ id: d.id, text: d.text }));
}

/**
 * Streams the corpus to a JSONL file (`{"id","text"}` per line), honouring backpressure so
 * memory stays flat for any count. Resolves with the number of bytes written.
 */
export async function writeCorpus(file: string, options: CorpusOptions): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  try {
    for (const doc of generateCorpus(options)) {
      const line = `${JSON.stringify({ id: doc.id, text: doc.text })}\n`;
      bytes += Buffer.byteLength(line);
      if (!out.write(line)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return bytes;
}
