/**
 * Deduplication (MinHash + LSH over word shingles, exact hashes) and decontamination (13-word
 * n-grams of benchmark texts), on real pages: the tau2 banking knowledge base (a templated help
 * centre), its policies, and the BFCL and tau2 benchmark files.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BandRuns } from '../src/dedup/band-runs.js';
import { CONFIG_DEFAULTS, ConfigSchema } from '../src/config.js';
import { BenchmarkIndex } from '../src/dedup/benchmark-index.js';
import { candidateProbability, MinHasher, similarity } from '../src/dedup/minhash.js';
import { SegmentIndex, type DedupSettings } from '../src/dedup/segment-index.js';
import { SignatureCache } from '../src/dedup/signature-cache.js';
import { wordHashes, words } from '../src/dedup/words.js';
import type { Funnel } from '../src/pipeline/counts.js';
import { dedupCorpus } from '../src/pipeline/dedup-corpus.js';
import { computeStats, formatStats } from '../src/report/stats.js';
import { runMain } from '../src/testing/cli-harness.js';
import { makeValidTrajectory } from './fixtures/valid-trajectory.js';
import { readLines } from './helpers/cli.js';
import { SHARED_DATA } from './helpers/shared-data.js';

const SETTINGS: DedupSettings = { ...CONFIG_DEFAULTS.dedup, mode: 'near' };
const KB = join(SHARED_DATA, 'text/sources/tau2-banking-knowledge.jsonl');
const ARTICLES = new Map(
  readFileSync(KB, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; title: string; content: string })
    .map((a) => [a.id, a]),
);
function article(id: string): string {
  const a = ARTICLES.get(id);
  if (a === undefined) throw new Error(`no article ${id}`);
  return `# ${a.title}\n\n${a.content}`;
}
const BANK = (n: string): string => `doc_bank_accounts_bank_accounts_(general)_${n}`;

const NAV = 'Home | Personal | Business | Cards | Loans | Help centre | Contact us | Sign in';
const FOOTER_A = '© 2025 Rho-Bank. Member FDIC. Equal Housing Lender. Privacy policy · Terms of use · Accessibility · Site map';
const FOOTER_B = 'Rho-Bank is a registered trademark. Deposits insured up to $250,000 per depositor. Careers · Newsroom · Investor relations';

/** The text with every `step`-th word replaced: a small edit of a copied page. */
function edit(text: string, step: number): string {
  return text
    .split(' ')
    .map((w, i) => (i % step === step - 1 ? 'changed' : w))
    .join(' ');
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gemtraj-dedup-'));
  dirs.push(d);
  return d;
}

describe('words', () => {
  it('compares lowercased letters and digits, in any script, ignoring punctuation and spacing', () => {
    expect(words('Größe:  das *Ding*—v2.0!\n\nÉTÉ')).toEqual(['größe', 'das', 'ding', 'v2', '0', 'été']);
  });
});

describe('MinHash signatures', () => {
  const hasher = new MinHasher(SETTINGS);
  it('are the same for the same text and estimate the Jaccard similarity', () => {
    const a = article(BANK('002'));
    expect(hasher.signature(a)).toEqual(hasher.signature(a));
    expect(similarity(hasher.signature(a) as Uint32Array, hasher.signature(a.toUpperCase()) as Uint32Array)).toBe(1);
    // One changed word in 25 alters about a fifth of the 5-word shingles.
    const s = similarity(hasher.signature(a) as Uint32Array, hasher.signature(edit(a, 25)) as Uint32Array);
    expect(s).toBeGreaterThan(0.6);
    expect(s).toBeLessThan(0.9);
  });
  it('have no signature without words', () => {
    expect(hasher.signature('— … ·')).toBeUndefined();
  });
  it('make pairs at the threshold candidates almost surely with the default bands', () => {
    expect(candidateProbability(SETTINGS.threshold, SETTINGS.bands, SETTINGS.rows)).toBeGreaterThan(0.98);
    expect(candidateProbability(0.2, SETTINGS.bands, SETTINGS.rows)).toBeLessThan(0.05);
  });
});

describe('SignatureCache', () => {
  // xorshift32: the same cases on every run.
  let state = 88172645;
  const rand = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const brute = (a: Uint32Array, b: Uint32Array): number => a.reduce((n, v, i) => n + (v === b[i] ? 1 : 0), 0);

  it('counts equal values exactly whenever the count reaches the bar, and stays below it otherwise', () => {
    // Lengths that leave 0–3 padding bytes in the last word; values with the top bit set (densified
    // ones are); pairs whose low bytes agree while the values differ, which only the full count tells.
    for (const length of [1, 3, 4, 5, 30, 90, 117, 120, 128]) {
      const cache = new SignatureCache(length, 1 << 20);
      for (let trial = 0; trial < 60; trial++) {
        const held = new Uint32Array(length).map(() => rand());
        const share = trial / 60;
        const sig = held.map((v) => {
          const r = rand() / 2 ** 32;
          if (r < share) return v;
          // Same low byte, other high bits: a third of the differing values.
          return r < share + (1 - share) / 3 ? (v ^ 0x80000100) >>> 0 : rand();
        });
        cache.put(trial, held);
        const query = cache.query(sig);
        const exact = brute(held, sig);
        for (const atLeast of [0, 1, Math.ceil(length / 2), Math.ceil(length * 0.6), length]) {
          const got = cache.sameValues(trial, query, atLeast);
          if (exact >= atLeast) expect(got, `length ${length}, trial ${trial}, bar ${atLeast}`).toBe(exact);
          else expect(got, `length ${length}, trial ${trial}, bar ${atLeast}`).toBeLessThan(atLeast);
        }
      }
    }
  });

  it('answers -1 for an ord it does not hold, and holds the latest ord of a slot', () => {
    const cache = new SignatureCache(8, 2 * (8 * 4 + 8));
    expect(cache.slots).toBe(2);
    const a = Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    cache.put(4, a);
    expect(cache.sameValues(4, cache.query(a), 8)).toBe(8);
    expect(cache.sameValues(5, cache.query(a), 0)).toBe(-1);
    // 6 takes slot 0 from 4.
    cache.put(6, a.map((v) => v + 1));
    expect(cache.sameValues(4, cache.query(a), 0)).toBe(-1);
    expect(cache.sameValues(6, cache.query(a), 0)).toBe(0);
    // A signature of another length is neither held nor compared.
    expect(cache.sameValues(6, cache.query(a.subarray(0, 7)), 0)).toBe(-1);
  });
});

describe('SegmentIndex', () => {
  const page = (body: string, footer = FOOTER_A): string => `${NAV}\n\n${body}\n\n${footer}`;

  it('catches planted near-duplicates: small edits, reordered boilerplate, another footer, a mirror', () => {
    const index = new SegmentIndex(':memory:', SETTINGS);
    const body = article(BANK('002'));
    expect(index.check('orig', page(body))).toEqual({ duplicate: false });
    const planted = {
      edits: page(edit(body, 30)),
      reordered: `${body}\n\n${FOOTER_A}\n\n${NAV}`,
      footer: page(body, FOOTER_B),
      mirror: page(body).replace(/\n+/g, ' ').replace(/-/g, '*').toUpperCase(),
    };
    for (const [name, text] of Object.entries(planted)) {
      const verdict = index.check(name, text);
      expect(verdict, name).toMatchObject({ duplicate: true, of: 'orig' });
    }
    expect(index.check('mirror-2', page(body))).toMatchObject({ duplicate: true, of: 'orig', kind: 'exact', similarity: 1 });
    index.close();
  });

  it('catches a help-centre template filled in for another product', () => {
    const index = new SegmentIndex(':memory:', SETTINGS);
    expect(index.check('eco', article('doc_credit_cards_ecocard_011')).duplicate).toBe(false);
    expect(index.check('silver', article('doc_credit_cards_silver_rewards_card_011'))).toMatchObject({ duplicate: true, of: 'eco', kind: 'near' });
    index.close();
  });

  it('decides by the rule, whether signatures are held in memory or read back from SQLite', () => {
    // Templated pages (many candidates per segment, matches and near misses around the
    // threshold): a cache of one or three signatures misses and collides, the default holds all.
    const texts = [...ARTICLES.keys()].slice(0, 60).flatMap((id, i) => [article(id), edit(article(id), 12 + (i % 5) * 4), edit(article(id), 9 + (i % 3))]);
    const verdicts = (bytes: number | undefined): unknown[] => {
      const index = new SegmentIndex(':memory:', SETTINGS, bytes === undefined ? {} : { signatureCacheBytes: bytes });
      const out = texts.map((text, i) => index.check(`s${i}`, text));
      index.close();
      return out;
    };
    // The rule written out: the earliest kept text sharing a band key whose signature agrees on
    // at least `threshold` of its positions (no text here repeats another word for word).
    const hasher = new MinHasher(SETTINGS);
    const kept: { id: string; sig: Uint32Array; keys: Set<number> }[] = [];
    const reference = texts.map((text, i): unknown => {
      const sig = hasher.signature(text) as Uint32Array;
      const keys = hasher.bandKeys(sig);
      for (const k of kept) {
        const s = similarity(sig, k.sig);
        if (keys.some((key) => k.keys.has(key)) && s >= SETTINGS.threshold) return { duplicate: true, of: k.id, kind: 'near', similarity: s };
      }
      kept.push({ id: `s${i}`, sig, keys: new Set(keys) });
      return { duplicate: false };
    });
    expect(reference.filter((v) => (v as { kind?: string }).kind === 'near').length).toBeGreaterThan(30);
    expect(verdicts(undefined)).toEqual(reference);
    expect(verdicts(1)).toEqual(reference);
    expect(verdicts(3 * 4 * SETTINGS.bands * SETTINGS.rows)).toEqual(reference);
  });

  it('keeps distinct pages on the same topic', () => {
    const index = new SegmentIndex(':memory:', SETTINGS);
    // Debit cards: ordering, activating, closing, freezing, PIN, information, replacement, disputes;
    // closing business checking vs savings accounts (one template, other rules).
    const ids = ['023', '024', '025', '026', '027', '028', '029', '031', '036', '007', '008', '001', '003', '005', '006'].map(BANK);
    for (const id of ids) expect(index.check(id, article(id)), id).toEqual({ duplicate: false });
    expect(index.size).toBe(ids.length);
    index.close();
  });

  it('points every copy at the kept segment, never at another duplicate', () => {
    const index = new SegmentIndex(':memory:', SETTINGS);
    const a = article(BANK('002'));
    index.check('a', a);
    expect(index.check('b', edit(a, 30))).toMatchObject({ duplicate: true, of: 'a' });
    // b was not indexed: a copy of b repeats a, the segment that is kept.
    expect(index.check('c', edit(a, 30))).toMatchObject({ duplicate: true, of: 'a', kind: 'near' });
    // A rewrite past the threshold (every 12th word changed: about 0.4) is kept.
    expect(index.check('d', edit(a, 12))).toEqual({ duplicate: false });
    index.close();
  });

  it('persists: a reopened index decides the same, and a kept segment stays kept', () => {
    const file = join(tempDir(), 'dedup.sqlite');
    const a = article(BANK('002'));
    let index = new SegmentIndex(file, SETTINGS);
    index.check('a', a);
    index.close();
    index = new SegmentIndex(file, SETTINGS);
    expect(index.size).toBe(1);
    expect(index.check('a', a)).toEqual({ duplicate: false });
    expect(index.check('b', edit(a, 30))).toMatchObject({ duplicate: true, of: 'a' });
    index.close();
    expect(() => new SegmentIndex(file, { ...SETTINGS, threshold: 0.9 })).toThrow(/other settings/);
  });

  describe('band keys buffered in memory, written out as sorted runs', () => {
    // 60 band keys: a spill every two kept segments, so the sequence crosses many of them.
    const TUNING = { bufferEntries: 60, bloomLog2Bits: 16 };
    /** Pages and planted copies of earlier ones (some exact, some edited, some of a copy). */
    const SEGMENTS: Array<[string, string]> = [...ARTICLES.keys()].slice(0, 36).flatMap((key, i, keys): Array<[string, string]> => {
      const own: [string, string] = [key, article(key)];
      if (i % 3 !== 2) return [own];
      const earlier = article(keys[i - 2] as string);
      return [own, [`${key}-copy`, i % 2 === 0 ? edit(earlier, 30) : page(earlier)]];
    });
    const verdicts = (index: SegmentIndex, from = 0, to = SEGMENTS.length): string[] =>
      SEGMENTS.slice(from, to).map(([id, text]) => {
        const v = index.check(id, text);
        return v.duplicate ? `${id} → ${v.of} (${v.kind})` : `${id} kept`;
      });
    const uninterrupted = (): string[] => {
      const index = new SegmentIndex(':memory:', SETTINGS);
      const out = verdicts(index);
      index.close();
      return out;
    };

    it('decides the same whether the band keys are in memory or in runs', () => {
      // The reference keeps every key in memory; these spill every segment or every two.
      const expected = uninterrupted();
      expect(expected.filter((v) => v.includes('→')).length).toBeGreaterThan(8);
      for (const bufferEntries of [SETTINGS.bands, 60]) {
        const index = new SegmentIndex(join(tempDir(), 'dedup.sqlite'), SETTINGS, { ...TUNING, bufferEntries });
        expect(verdicts(index), `buffer ${bufferEntries}`).toEqual(expected);
        index.close();
      }
    });

    it('a kill at any point, then a rerun from the last flush, gives the same duplicates in the same order', () => {
      const expected = uninterrupted();
      // Flushes every 5 segments (the engine flushes before it marks documents done); a kill
      // after every segment: the files as a SIGKILL leaves them are the database and its WAL,
      // the open transaction and the in-memory buffer lost.
      for (let kill = 1; kill < SEGMENTS.length; kill += 2) {
        const dir = tempDir();
        const file = join(dir, 'dedup.sqlite');
        const first = new SegmentIndex(file, SETTINGS, TUNING);
        const before: string[] = [];
        let flushed = 0;
        for (let i = 0; i < kill; i++) {
          before.push(...verdicts(first, i, i + 1));
          if (i % 5 === 4) {
            first.flush();
            flushed = i + 1;
          }
        }
        const crashed = join(dir, 'crashed.sqlite');
        copyFileSync(file, crashed);
        if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${crashed}-wal`);
        // The band runs as the kill leaves them: unlisted new ones, replaced ones not yet deleted.
        cpSync(`${file}-bands`, `${crashed}-bands`, { recursive: true });
        first.close();
        // The rerun redoes every segment not flushed (its document was not marked done).
        const second = new SegmentIndex(crashed, SETTINGS, TUNING);
        const after = verdicts(second, flushed);
        second.close();
        expect([...before.slice(0, flushed), ...after], `killed after ${kill} segments`).toEqual(expected);
      }
    });

    it('reads an index written before the buffer (every band in SQLite, no bands_upto)', () => {
      const expected = uninterrupted();
      const file = join(tempDir(), 'dedup.sqlite');
      const half = SEGMENTS.length >> 1;
      // Written as 0.2 wrote it: one row per kept segment, its band keys straight into `bands`.
      const old = new SegmentIndex(':memory:', SETTINGS);
      const hasher = new MinHasher(SETTINGS);
      const db = new Database(file);
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE segs (ord INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, exact BLOB NOT NULL, sig BLOB);
        CREATE INDEX segs_exact ON segs (exact);
        CREATE TABLE bands (key INTEGER NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (key, ord)) WITHOUT ROWID;
      `);
      db.prepare("INSERT INTO meta VALUES ('settings', ?)").run(JSON.stringify({ mode: 'near', shingle: SETTINGS.shingle, bands: SETTINGS.bands, rows: SETTINGS.rows, threshold: SETTINGS.threshold }));
      for (const [id, text] of SEGMENTS.slice(0, half)) {
        if (old.check(id, text).duplicate) continue;
        const hashes = wordHashes(text);
        const sig = hasher.signature(hashes) as Uint32Array;
        const { lastInsertRowid } = db
          .prepare('INSERT INTO segs (id, exact, sig) VALUES (?, ?, ?)')
          .run(id, createHash('sha256').update(hashes).digest().subarray(0, 16), Buffer.from(sig.buffer));
        for (const key of hasher.bandKeys(sig)) db.prepare('INSERT OR IGNORE INTO bands VALUES (?, ?)').run(key, lastInsertRowid);
      }
      db.close();
      old.close();
      const index = new SegmentIndex(file, SETTINGS, TUNING);
      expect([...expected.slice(0, half), ...verdicts(index, half)]).toEqual(expected);
      // A rerun of the first half finds every kept segment by id and every copy by its text.
      expect(verdicts(index, 0, half)).toEqual(expected.slice(0, half));
      index.close();
    });

    it('a run file lost or damaged after its commit is rebuilt from the signatures, deciding the same', () => {
      const expected = uninterrupted();
      const half = SEGMENTS.length >> 1;
      for (const harm of ['remove', 'truncate', 'zero'] as const) {
        const file = join(tempDir(), 'dedup.sqlite');
        const first = new SegmentIndex(file, SETTINGS, TUNING);
        const before = verdicts(first, 0, half);
        first.close();
        const runs = readdirSync(`${file}-bands`);
        expect(runs.length).toBeGreaterThan(0);
        const victim = join(`${file}-bands`, runs[0] as string);
        if (harm === 'remove') rmSync(victim);
        else if (harm === 'truncate') truncateSync(victim, 20);
        else writeFileSync(victim, Buffer.alloc(readFileSync(victim).length));
        const second = new SegmentIndex(file, SETTINGS, TUNING);
        expect([...before, ...verdicts(second, half)], harm).toEqual(expected);
        // Reruns of the first half still find what they kept and what they repeated.
        expect(verdicts(second, 0, half), harm).toEqual(expected.slice(0, half));
        second.close();
      }
    });

    it('a run that cannot be written (a full disk) changes nothing: going on after space is freed decides the same, and no listed run is lost', () => {
      const expected = uninterrupted();
      for (let blocked = 1; blocked <= 24; blocked++) {
        const file = join(tempDir(), 'dedup.sqlite');
        // A folder where run `blocked` (a spill's or a merge's) will be written: its write fails.
        const blocker = join(`${file}-bands`, `run-${String(blocked).padStart(6, '0')}.bin`);
        const index = new SegmentIndex(file, SETTINGS, TUNING);
        mkdirSync(blocker);
        const got: string[] = [];
        let failed = false;
        for (let i = 0; i < SEGMENTS.length; i++) {
          try {
            got.push(...verdicts(index, i, i + 1));
          } catch (error) {
            expect(String(error), `run ${blocked}`).toMatch(/cannot write .*run-\d+\.bin/);
            failed = true;
            // Space freed; the caller commits what was decided (the engine flushes before it stops) and goes on.
            index.flush();
            rmSync(blocker, { recursive: true });
            got.push(...verdicts(index, i, i + 1));
          }
        }
        index.close();
        expect(failed, `run ${blocked}`).toBe(true);
        expect(got, `run ${blocked}`).toEqual(expected);
        // Every run the committed listing names is there: nothing to rebuild at the next open.
        const db = new Database(file, { readonly: true });
        const listed = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'band_runs'").get() as { value: string }).value) as Array<{ name: string }>;
        db.close();
        for (const { name } of listed) expect(existsSync(join(`${file}-bands`, name)), `run ${blocked}: ${name}`).toBe(true);
      }
    });

    it('a spill whose listing cannot be recorded (SQLITE_FULL) deletes no run that the committed listing names', () => {
      const expected = uninterrupted();
      for (let failing = 1; failing <= 12; failing++) {
        const file = join(tempDir(), 'dedup.sqlite');
        const index = new SegmentIndex(file, SETTINGS, TUNING);
        // The metadata row of the `failing`-th spill hits a full disk (SQLite's own error).
        const meta = index as unknown as { setMeta: { run(key: string, value: string): unknown } };
        const real = meta.setMeta;
        let spills = 0;
        meta.setMeta = {
          run: (key, value) => {
            if (key === 'band_runs' && ++spills === failing) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
            return real.run(key, value);
          },
        };
        const got: string[] = [];
        let i = 0;
        try {
          for (; i < SEGMENTS.length; i++) got.push(...verdicts(index, i, i + 1));
        } catch (error) {
          expect(String(error)).toMatch(/no space left/);
        }
        // The engine commits what was decided and stops: every run the committed listing names is there.
        index.close();
        expect(i, `spill ${failing}`).toBeLessThan(SEGMENTS.length);
        const db = new Database(file, { readonly: true });
        const listed = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'band_runs'").get() as { value: string }).value) as Array<{ name: string }>;
        db.close();
        for (const { name } of listed) expect(existsSync(join(`${file}-bands`, name)), `spill ${failing}: ${name}`).toBe(true);
        // The rerun goes on from the segment that failed and decides as an uninterrupted run.
        const again = new SegmentIndex(file, SETTINGS, TUNING);
        got.push(...verdicts(again, i));
        again.close();
        expect(got, `spill ${failing}`).toEqual(expected);
      }
    });

    it('an open that fails (its runs folder unusable) names the file and releases the index: a retry opens it', () => {
      const file = join(tempDir(), 'dedup.sqlite');
      const first = new SegmentIndex(file, SETTINGS, TUNING);
      verdicts(first, 0, 10);
      first.close();
      rmSync(`${file}-bands`, { recursive: true });
      writeFileSync(`${file}-bands`, 'a file where the runs folder goes');
      expect(() => new SegmentIndex(file, SETTINGS, TUNING)).toThrow(/cannot write .*dedup\.sqlite-bands/);
      rmSync(`${file}-bands`);
      const again = new SegmentIndex(file, SETTINGS, TUNING);
      expect(verdicts(again, 0, 10)).toEqual(uninterrupted().slice(0, 10));
      again.close();
    });

    it('a throwaway (:memory:) index leaves no files behind, even killed while open', () => {
      const tmp = tempDir();
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = tmp;
      try {
        const index = new SegmentIndex(':memory:', SETTINGS, TUNING);
        // Many spills and merges later, nothing is in the temporary folder: a SIGKILL now (an
        // estimate stopped) leaves nothing to clean; the files live on through their descriptors.
        expect(verdicts(index)).toEqual(uninterrupted());
        expect(readdirSync(tmp)).toEqual([]);
        index.close();
      } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
      }
    });

    it('a second opener of an index in use is refused by name and changes nothing: the first decides as if alone', () => {
      const expected = uninterrupted();
      const file = join(tempDir(), 'dedup.sqlite');
      const first = new SegmentIndex(file, SETTINGS, TUNING);
      const half = SEGMENTS.length >> 1;
      const got = verdicts(first, 0, half);
      // Committed or not (run files not yet listed), the index belongs to its first opener: a
      // second one would take its new runs for leftovers, reuse their names and interleave ords.
      for (const commit of [false, true]) {
        if (commit) first.flush();
        const runs = readdirSync(`${file}-bands`).sort();
        expect(runs.length).toBeGreaterThan(0);
        expect(() => new SegmentIndex(file, SETTINGS, TUNING)).toThrow(/in use by another process/);
        expect(readdirSync(`${file}-bands`).sort()).toEqual(runs);
      }
      got.push(...verdicts(first, half));
      first.close();
      expect(got).toEqual(expected);
      // Closed, it opens again.
      new SegmentIndex(file, SETTINGS, TUNING).close();
    });

    it('a damaged run listing or high-water mark in meta is rebuilt from the signatures, deciding the same', () => {
      const expected = uninterrupted();
      const half = SEGMENTS.length >> 1;
      const harms: Array<[string, string]> = [
        ['band_runs', '[{"name": "run-0000'],
        ['band_runs', '{"not": "a list"}'],
        ['band_runs', '[{"name": "../dedup.sqlite", "count": 1}]'],
        ['bands_upto', 'eleven'],
        ['bands_upto', '-5'],
        ['bands_upto', '99999999'],
      ];
      for (const [key, value] of harms) {
        const file = join(tempDir(), 'dedup.sqlite');
        const first = new SegmentIndex(file, SETTINGS, TUNING);
        const before = verdicts(first, 0, half);
        first.close();
        const db = new Database(file);
        db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(value, key);
        db.close();
        const second = new SegmentIndex(file, SETTINGS, TUNING);
        expect([...before, ...verdicts(second, half)], `${key} = ${value}`).toEqual(expected);
        expect(verdicts(second, 0, half), `${key} = ${value}`).toEqual(expected.slice(0, half));
        second.close();
      }
    });

    it('a rebuild commits as it goes: the runs its merges replace do not pile up until the end', () => {
      const expected = uninterrupted();
      const file = join(tempDir(), 'dedup.sqlite');
      const first = new SegmentIndex(file, SETTINGS, TUNING);
      const before = verdicts(first);
      first.close();
      expect(before).toEqual(expected);
      // A lost run: the whole index is rebuilt from the signatures, 4 segments per read.
      rmSync(join(`${file}-bands`, readdirSync(`${file}-bands`)[0] as string));
      let most = 0;
      const realAdd = BandRuns.prototype.add;
      const add = vi.spyOn(BandRuns.prototype, 'add').mockImplementation(function (this: BandRuns, keys: Float64Array, ords: Uint32Array) {
        realAdd.call(this, keys, ords);
        most = Math.max(most, readdirSync(`${file}-bands`).length);
      });
      try {
        const second = new SegmentIndex(file, SETTINGS, { ...TUNING, tailChunk: 4 });
        expect(add.mock.calls.length).toBeGreaterThan(10);
        // Reruns: every kept segment is found kept, every copy found again.
        expect(verdicts(second)).toEqual(expected);
        second.close();
      } finally {
        add.mockRestore();
      }
      // Merged-away runs are deleted at each commit: at most 10 files here, against 32 when one
      // transaction kept them all until the end.
      expect(most).toBeLessThanOrEqual(12);
    });

    it('an index reopened after many spills decides as one session', () => {
      const expected = uninterrupted();
      const file = join(tempDir(), 'dedup.sqlite');
      const got: string[] = [];
      for (let from = 0; from < SEGMENTS.length; from += 7) {
        const index = new SegmentIndex(file, SETTINGS, TUNING);
        got.push(...verdicts(index, from, Math.min(SEGMENTS.length, from + 7)));
        index.close();
      }
      expect(got).toEqual(expected);
    });
  });

  // Root writes through permissions: checked by hand on a read-only tmpfs (EROFS), same message.
  it.skipIf(process.getuid?.() === 0)('an index in a read-only folder is refused as such (SQLite alone says "disk I/O error")', () => {
    const dir = tempDir();
    new SegmentIndex(join(dir, 'dedup.sqlite'), SETTINGS).close();
    chmodSync(dir, 0o555);
    try {
      expect(() => new SegmentIndex(join(dir, 'dedup.sqlite'), SETTINGS)).toThrow(/dedup\.sqlite: the folder is read-only or not writable/);
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('exact mode only catches the same words', () => {
    const index = new SegmentIndex(':memory:', { ...SETTINGS, mode: 'exact' });
    const a = article(BANK('002'));
    index.check('a', a);
    expect(index.check('b', edit(a, 30)).duplicate).toBe(false);
    expect(index.check('c', a.replace(/\s+/g, '  '))).toMatchObject({ duplicate: true, of: 'a', kind: 'exact' });
    index.close();
  });
});

const TOOL_USE = join(SHARED_DATA, 'tool-use');
const BFCL = join(TOOL_USE, 'bfcl-multi-turn/BFCL_v4_multi_turn_base.jsonl');
const TAU2_TASKS = join(TOOL_USE, 'tau2/airline-tasks.json');
const AIRLINE_POLICY = join(SHARED_DATA, 'text/sources/tau2-airline-policy.md');

describe('BenchmarkIndex', () => {
  const index = BenchmarkIndex.load([BFCL, TAU2_TASKS, AIRLINE_POLICY], 13);
  const bfclQuestion = (JSON.parse(readFileSync(BFCL, 'utf8').split('\n')[0] as string) as { question: Array<Array<{ content: string }>> }).question[0]?.[0]?.content as string;
  const policy = readFileSync(AIRLINE_POLICY, 'utf8');
  const tasks = JSON.parse(readFileSync(TAU2_TASKS, 'utf8')) as Array<{ user_scenario: { instructions: { reason_for_call: string } } }>;

  it('finds a benchmark question planted in a page and names its file and the span', () => {
    const hit = index.find(`${article(BANK('024'))}\n\nCustomer asked: ${bfclQuestion}\n\nThanks for reading.`);
    expect(hit?.file).toBe(BFCL);
    expect(hit?.span).toContain(words(bfclQuestion).slice(0, 13).join(' '));
  });

  it('finds a policy paragraph and a task instruction', () => {
    const paragraph = policy.split('\n\n').find((p) => words(p).length > 30) as string;
    expect(index.find(`Some intro text here.\n${paragraph}\nMore text.`)?.file).toBe(AIRLINE_POLICY);
    const reason = tasks.map((t) => t.user_scenario.instructions.reason_for_call).find((r) => words(r).length >= 13) as string;
    expect(index.find(`Note: ${reason}`)?.file).toBe(TAU2_TASKS);
  });

  it('extends the span over every shared word', () => {
    const paragraph = policy.split('\n\n').find((p) => words(p).length > 40) as string;
    const hit = index.find(`Unrelated opening words. ${paragraph} Unrelated closing words.`);
    expect(hit?.span.replace(/…$/, '')).toBe(words(paragraph).join(' ').slice(0, 300));
  });

  it('passes clean pages and a 12-word overlap', () => {
    for (const id of ['023', '024', '002'].map(BANK)) expect(index.find(article(id)), id).toBeUndefined();
    const twelve = words(policy).slice(100, 112).join(' ');
    expect(index.find(`Our own text: ${twelve}, and then something else entirely.`)).toBeUndefined();
  });

  it('refuses a benchmark file it cannot read or that has no text', () => {
    expect(() => BenchmarkIndex.load([join(TOOL_USE, 'nope.jsonl')], 13)).toThrow(/nope\.jsonl: cannot read it/);
    const dir = tempDir();
    const empty = join(dir, 'ids.json');
    writeFileSync(empty, JSON.stringify(['a1', 'b2']));
    expect(() => BenchmarkIndex.load([empty], 13)).toThrow(/no text of 8 words/);
  });
});

describe('dedup and decontaminate steps in a run', () => {
  /** A corpus with planted duplicates and a leaked benchmark passage, in a known order. */
  function writeCorpus(dir: string): string {
    const body = article(BANK('002'));
    const policyParagraph = readFileSync(AIRLINE_POLICY, 'utf8').split('\n\n').find((p) => words(p).length > 30) as string;
    const docs = [
      { id: 'orig', text: `${NAV}\n\n${body}\n\n${FOOTER_A}` },
      { id: 'eco', text: article('doc_credit_cards_ecocard_011') },
      { id: 'debit-order', text: article(BANK('023')) },
      { id: 'edited', text: `${NAV}\n\n${edit(body, 30)}\n\n${FOOTER_A}` },
      { id: 'silver', text: article('doc_credit_cards_silver_rewards_card_011') },
      { id: 'debit-activate', text: article(BANK('024')) },
      { id: 'other-footer', text: `${NAV}\n\n${body}\n\n${FOOTER_B}` },
      { id: 'leak', text: `${article(BANK('026'))}\n\n${policyParagraph}` },
      { id: 'debit-pin', text: article(BANK('027')) },
    ];
    const file = join(dir, 'corpus.jsonl');
    writeFileSync(file, `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`);
    return file;
  }
  const decisions = (out: string): string[] =>
    readLines(join(out, 'rejected.jsonl'))
      .filter((r) => r.stage === 'dedup' || r.stage === 'decontaminate')
      .map((r) => {
        const reason = (r.reasons as Array<{ check: string; ref?: string }>)[0];
        return `${String(r.stage)} ${String(r.id)} ${reason?.check} ${reason?.ref}`;
      })
      .sort();
  const filterArgs = (corpus: string, out: string, extra: string[] = []) => ['filter', corpus, '--out', out, '--filter', 'local', '--quiet', ...extra, '--decontaminate', AIRLINE_POLICY];

  it('rejects planted duplicates naming the kept segment, and the leak naming the benchmark; the funnel balances', async () => {
    const dir = tempDir();
    const corpus = writeCorpus(dir);
    const out = join(dir, 'run');
    const result = await runMain(filterArgs(corpus, out));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rejected = readLines(join(out, 'rejected.jsonl'));
    const dup = (doc: string) => rejected.find((r) => r.stage === 'dedup' && (r.source as { doc_id?: string }).doc_id === doc);
    for (const doc of ['edited', 'other-footer']) {
      expect(dup(doc)?.reasons, doc).toEqual([expect.objectContaining({ check: 'duplicate_segment', ref: 'orig#0' })]);
    }
    expect(dup('silver')?.reasons).toEqual([expect.objectContaining({ check: 'duplicate_segment', ref: 'eco#0' })]);
    for (const doc of ['orig', 'eco', 'debit-order', 'debit-activate', 'debit-pin', 'leak']) expect(dup(doc), doc).toBeUndefined();
    const leak = rejected.find((r) => r.stage === 'decontaminate');
    expect(leak?.source).toMatchObject({ doc_id: 'leak' });
    expect(leak?.reasons).toEqual([expect.objectContaining({ check: 'contaminated', ref: AIRLINE_POLICY, span: expect.any(String) as string })]);
    // The funnel: derived from the step list, balanced, with the new figures.
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { counts: Funnel; fingerprint: Record<string, unknown> };
    expect(run.counts.steps.map((s) => s.step)).toEqual(['segment', 'dedup', 'decontaminate', 'filter']);
    expect(run.counts.balanced).toBe(true);
    expect(run.counts.duplicates).toBe(3);
    expect(run.counts.contaminated).toBe(1);
    const step = (name: string) => run.counts.steps.find((s) => s.step === name);
    expect(step('dedup')).toMatchObject({ in: 9, out: 6, rejected: 3 });
    expect(step('decontaminate')).toMatchObject({ in: 6, out: 5, rejected: 1 });
    expect(step('filter')?.in).toBe(5);
    expect(run.counts.segments).toBe(9);
    expect(run.fingerprint).toMatchObject({ dedup: CONFIG_DEFAULTS.dedup, decontaminate: [AIRLINE_POLICY], decontaminate_ngram: 13 });
    // The figures in stats and the report.
    const stats = await runMain(['stats', out]);
    expect(stats.stdout).toMatch(/3 duplicate segment\(s\) removed, 1 record\(s\) sharing text with a benchmark rejected/);
    expect(stats.stdout).toMatch(/dedup: duplicate_segment 3/);
    expect((await runMain(['report', out])).code).toBe(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('duplicate segments');
    expect(html).toContain('contaminated (benchmark text)');
    // A rerun with other dedup settings would mix decisions: refused.
    const changed = await runMain(filterArgs(corpus, out, ['--dedup', 'exact']));
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/dedup/);
  });

  it('decides the same whatever the concurrency, and a resumed run decides as an uninterrupted one', async () => {
    const dir = tempDir();
    const corpus = writeCorpus(dir);
    const one = join(dir, 'one');
    const many = join(dir, 'many');
    const resumed = join(dir, 'resumed');
    expect((await runMain(filterArgs(corpus, one, ['--concurrency', '1']))).code).toBe(0);
    expect((await runMain(filterArgs(corpus, many, ['--concurrency', '16']))).code).toBe(0);
    // Stop after 4 documents, then resume: the index in dedup.sqlite carries what was kept.
    expect((await runMain(filterArgs(corpus, resumed, ['--max-docs', '4']))).code).toBe(0);
    expect(decisions(resumed)).toHaveLength(1);
    expect((await runMain(filterArgs(corpus, resumed))).code).toBe(0);
    expect(decisions(one)).toHaveLength(4);
    expect(decisions(many)).toEqual(decisions(one));
    expect(decisions(resumed)).toEqual(decisions(one));
    // A finished run rerun changes nothing.
    expect((await runMain(filterArgs(corpus, resumed))).code).toBe(0);
    expect(decisions(resumed)).toEqual(decisions(one));
    expect(readLines(join(resumed, 'segments.jsonl')).map((s) => s.id).sort()).toEqual(readLines(join(one, 'segments.jsonl')).map((s) => s.id).sort());
  });

  it('a resumed run whose dedup.sqlite was deleted is refused by name (it would keep duplicates of what was done)', async () => {
    const dir = tempDir();
    const corpus = writeCorpus(dir);
    const out = join(dir, 'run');
    expect((await runMain(['filter', corpus, '--out', out, '--filter', 'local', '--quiet'])).code).toBe(0);
    rmSync(join(out, 'dedup.sqlite'));
    const again = await runMain(['filter', corpus, '--out', out, '--filter', 'local', '--quiet']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/dedup\.sqlite is missing: the deduplication decisions of the 9 document\(s\) already done are lost/);
    // The refusal gives the folder back: no lock, no reserve left behind.
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
    expect(existsSync(join(out, 'run.reserve'))).toBe(false);
  });

  it('a resumed run whose documents never reached the dedup step (markup only) has no index to miss, and resumes', async () => {
    const dir = tempDir();
    const corpus = join(dir, 'markup.jsonl');
    writeFileSync(corpus, ['<html><body><script>var x = 1;</script></body></html>', '<html><body><style>p {}</style></body></html>'].map((text, i) => JSON.stringify({ id: `m${i}`, text })).join('\n') + '\n');
    const out = join(dir, 'run');
    expect((await runMain(['filter', corpus, '--out', out, '--filter', 'local', '--quiet'])).code).toBe(0);
    expect(existsSync(join(out, 'dedup.sqlite'))).toBe(false);
    const again = await runMain(['filter', corpus, '--out', out, '--filter', 'local', '--quiet']);
    expect(again.code, again.stderr).toBe(0);
  });

  it('--dedup off leaves the step out', async () => {
    const dir = tempDir();
    const out = join(dir, 'off');
    expect((await runMain(['filter', writeCorpus(dir), '--out', out, '--filter', 'local', '--quiet', '--dedup', 'off'])).code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { counts: Funnel };
    expect(run.counts.steps.map((s) => s.step)).toEqual(['segment', 'filter']);
    expect(run.counts.duplicates).toBe(0);
    expect(run.counts.balanced).toBe(true);
  });

  it('gemtraj dedup: one pass over a whole corpus writes it without its duplicates', async () => {
    const dir = tempDir();
    const corpus = writeCorpus(dir);
    const out = join(dir, 'clean');
    const result = await runMain(['dedup', corpus, '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/9 document\(s\), 9 segment\(s\): 3 duplicate\(s\) removed \(0 exact, 3 near\), 3 document\(s\) left empty/);
    const docs = readLines(join(out, 'documents.jsonl'));
    expect(docs.map((d) => d.id)).toEqual(['orig', 'eco', 'debit-order', 'debit-activate', 'leak', 'debit-pin']);
    expect(readLines(join(out, 'rejected.jsonl')).map((r) => `${String(r.id)} ${(r.reasons as Array<{ ref: string }>)[0]?.ref}`)).toEqual([
      'edited#0 orig#0',
      'silver#0 eco#0',
      'other-footer#0 orig#0',
    ]);
    // The same again: a pass starts afresh and decides the same.
    expect((await runMain(['dedup', corpus, '--out', out, '--quiet'])).code).toBe(0);
    expect(readLines(join(out, 'documents.jsonl'))).toEqual(docs);
    // Shards of the cleaned corpus then find nothing more to remove.
    const run = join(dir, 'after');
    expect((await runMain(['filter', join(out, 'documents.jsonl'), '--out', run, '--filter', 'local', '--quiet'])).code).toBe(0);
    // Nothing left to remove: rejected.jsonl exists (always written) and is empty.
    expect(readLines(join(run, 'rejected.jsonl'))).toEqual([]);
    expect(readLines(join(run, 'segments.jsonl'))).toHaveLength(6);
  });
  it('gemtraj dedup refuses an --out that holds its input or lies inside it (it deleted the input, or read its own outputs)', async () => {
    const dir = tempDir();
    const corpus = readFileSync(writeCorpus(dir), 'utf8');
    const folder = join(dir, 'data');
    mkdirSync(folder);
    // The input is the documents.jsonl a pass writes: it was deleted before being read.
    writeFileSync(join(folder, 'documents.jsonl'), corpus);
    const same = await runMain(['dedup', join(folder, 'documents.jsonl'), '--out', folder, '--quiet']);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--out .*data holds the input/);
    expect(readFileSync(join(folder, 'documents.jsonl'), 'utf8')).toBe(corpus);
    // A folder read as the input, written into: its own outputs would be read as documents.
    for (const out of [folder, join(folder, 'clean')]) {
      const inside = await runMain(['dedup', folder, '--out', out, '--quiet']);
      expect(inside.code, out).toBe(2);
      expect(inside.stderr, out).toMatch(/holds the input|inside the input/);
    }
    expect(readdirSync(folder)).toEqual(['documents.jsonl']);
  });

  it('gemtraj dedup refuses an --out that holds other files (a run directory lost its rejected.jsonl and index)', async () => {
    const dir = tempDir();
    const corpus = writeCorpus(dir);
    const run = join(dir, 'run');
    expect((await runMain(['filter', corpus, '--out', run, '--filter', 'local', '--quiet'])).code).toBe(0);
    const before = Object.fromEntries(['rejected.jsonl', 'dedup.sqlite'].map((f) => [f, readFileSync(join(run, f))]));
    const result = await runMain(['dedup', corpus, '--out', run, '--quiet']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--out .*run is not empty and is not a gemtraj dedup folder \(it holds progress\.jsonl, run\.json/);
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(run, f)).equals(bytes), f).toBe(true);
  });

  it('gemtraj dedup stopped part way leaves no documents.jsonl that looks complete', async () => {
    const dir = tempDir();
    const corpus = writeCorpus(dir);
    const out = join(dir, 'clean');
    let seen = 0;
    const stop = (): void => {
      if (++seen === 5) throw new Error('killed');
    };
    await expect(dedupCorpus(corpus, out, ConfigSchema.parse({}), stop)).rejects.toThrow('killed');
    expect(existsSync(join(out, 'documents.jsonl'))).toBe(false);
    expect(existsSync(join(out, 'rejected.jsonl'))).toBe(false);
    // The next pass starts afresh and finishes.
    expect((await runMain(['dedup', corpus, '--out', out, '--quiet'])).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['dedup.json', 'dedup.sqlite', 'dedup.sqlite-bands', 'documents.jsonl', 'rejected.jsonl']);
  });

  it('gemtraj dedup into a folder whose index another process holds is refused, and leaves that index alone', async () => {
    const dir = tempDir();
    const corpus = writeCorpus(dir);
    const out = join(dir, 'clean');
    expect((await runMain(['dedup', corpus, '--out', out, '--quiet'])).code).toBe(0);
    const docs = readLines(join(out, 'documents.jsonl'));
    // Another pass still running on the same folder: its index is open.
    const holder = new SegmentIndex(join(out, 'dedup.sqlite'), SETTINGS);
    const size = holder.size;
    const result = await runMain(['dedup', corpus, '--out', out, '--quiet']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/dedup\.sqlite: this deduplication index is in use by another process/);
    expect(holder.size).toBe(size);
    expect(holder.check('orig#0', 'anything').duplicate).toBe(false);
    holder.close();
    expect(readLines(join(out, 'documents.jsonl'))).toEqual(docs);
    // Free again: a pass starts afresh, in another mode too (the old index is emptied, not refused).
    expect((await runMain(['dedup', corpus, '--out', out, '--quiet', '--dedup', 'exact'])).code).toBe(0);
    expect((await runMain(['dedup', corpus, '--out', out, '--quiet'])).code).toBe(0);
    expect(readLines(join(out, 'documents.jsonl'))).toEqual(docs);
    // A file that is no index at all is replaced by a pass, and refused by name by a run.
    writeFileSync(join(out, 'dedup.sqlite'), 'not a database, not even close: '.repeat(200));
    expect(() => new SegmentIndex(join(out, 'dedup.sqlite'), SETTINGS)).toThrow(/dedup\.sqlite: not a readable deduplication index/);
    expect((await runMain(['dedup', corpus, '--out', out, '--quiet'])).code).toBe(0);
    expect(readLines(join(out, 'documents.jsonl'))).toEqual(docs);
  });
});

describe('gemtraj dedup: declared markup and encoding', () => {
  it('a markdown file full of HTML-looking tags stays markdown in documents.jsonl; invalid UTF-8 is a warning', async () => {
    const dir = tempDir();
    const input = join(dir, 'in');
    mkdirSync(input);
    const md = 'Use the field <Account ID>.\n\n' + '<div><p>One.</p><p>Two.</p><ul><li>a</li><li>b</li></ul></div>\n'.repeat(3);
    writeFileSync(join(input, 'guide.md'), md);
    writeFileSync(join(input, 'page.html'), '<p>Use <code>&lt;Account ID&gt;</code> to sign in.</p>');
    const out = join(dir, 'clean');
    writeFileSync(join(input, 'latin1.txt'), Buffer.from('Order a caf\xe9 at the counter.', 'latin1'));
    const result = await runMain(['dedup', input, '--out', out]);
    expect(result.code).toBe(0);
    // Invalid UTF-8 is reported, not silently read as U+FFFD.
    expect(result.stderr).toContain(`warning: ${join(input, 'latin1.txt')}: invalid UTF-8 at byte 11 (line 1, column 12)`);
    expect(readLines(join(out, 'documents.jsonl'))).toEqual([
      { format: 'markdown', id: 'guide.md', text: md },
      { format: 'markdown', id: 'latin1.txt', text: 'Order a caf\ufffd at the counter.' },
      { format: 'html', id: 'page.html', text: '<p>Use <code>&lt;Account ID&gt;</code> to sign in.</p>' },
    ]);
  });
});

describe('decontaminate_trajectories', () => {
  it('rejects a trajectory whose user turn is a benchmark question, naming the file and the path', async () => {
    const dir = tempDir();
    const bfclQuestion = (JSON.parse(readFileSync(BFCL, 'utf8').split('\n')[0] as string) as { question: Array<Array<{ content: string }>> }).question[0]?.[0]?.content as string;
    const clean = makeValidTrajectory();
    const leaked = makeValidTrajectory();
    leaked.id = 'leaked';
    const user = leaked.messages.findIndex((m) => m.role === 'user');
    leaked.messages[user] = { role: 'user', content: bfclQuestion };
    const file = join(dir, 'trajectories.jsonl');
    writeFileSync(file, `${JSON.stringify(clean)}\n${JSON.stringify(leaked)}\n`);
    const out = join(dir, 'checked');
    const result = await runMain(['validate', file, '--out', out, '--no-judge', '--decontaminate', BFCL, TAU2_TASKS]);
    expect(result.code).toBe(0);
    const rejected = readLines(join(out, 'rejected.jsonl'));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ stage: 'decontaminate_trajectories', id: 'leaked' });
    expect(rejected[0]?.reasons).toEqual([expect.objectContaining({ check: 'contaminated', ref: BFCL, path: `messages[${user}].content` })]);
    expect(readLines(join(out, 'trajectories.jsonl')).map((t) => t.id)).toEqual([clean.id]);
  });
});

describe('near-identical trajectories in stats', () => {
  it('counts a trajectory with the same tools and nearly the same user turns, and only that one', async () => {
    const original = makeValidTrajectory();
    const copy = makeValidTrajectory();
    copy.id = 'copy';
    const u = copy.messages.findIndex((m) => m.role === 'user');
    const first = copy.messages[u] as { role: 'user'; content: string };
    copy.messages[u] = { role: 'user', content: `${first.content} Thanks!` };
    const otherTools = makeValidTrajectory();
    otherTools.id = 'other-tools';
    otherTools.tools = otherTools.tools.slice(0, -1);
    const otherTurns = makeValidTrajectory();
    otherTurns.id = 'other-turns';
    otherTurns.messages = otherTurns.messages.map((m) => (m.role === 'user' ? { role: 'user', content: article(BANK('024')).slice(0, 400) } : m));
    async function* source() {
      yield* [original, copy, otherTools, otherTurns];
    }
    const stats = await computeStats(source());
    expect(stats.near_identical.count).toBe(1);
    expect(stats.near_identical.examples).toEqual([expect.objectContaining({ id: 'copy', of: original.id })]);
    expect(formatStats(stats)).toMatch(/warning: 1 near-identical trajectory\(ies\) .* copy ≈ /);
  });
});
