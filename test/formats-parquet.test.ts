import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toOpenAI } from '../src/formats/openai.js';
import { readParquetRecords, writeParquetRecords } from '../src/formats/parquet.js';
import { toShareGPT } from '../src/formats/sharegpt.js';
import { richTrajectory, simpleTrajectory } from './formats-fixture.js';

describe('parquet', () => {
  it('writes exports and reads them back (nested columns as JSON strings)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemtraj-pq-'));
    const rows = [richTrajectory(), simpleTrajectory()].map((t) => ({ id: t.id, ...toOpenAI(t) }));
    const file = join(dir, 'openai.parquet');
    expect(writeParquetRecords(file, rows).jsonColumns).toEqual(['messages', 'tools']);
    expect(await readParquetRecords(file)).toEqual(JSON.parse(JSON.stringify(rows)));

    const share = [simpleTrajectory()].map((t) => ({ id: t.id, ...toShareGPT(t) }));
    const file2 = join(dir, 'sharegpt.parquet');
    expect(writeParquetRecords(file2, share).jsonColumns).toEqual(['conversations']);
    expect(await readParquetRecords(file2)).toEqual(share);
  });
});
