// Runs SQL statements in an in-memory DuckDB and prints their results for Sluice's tests and
// benchmarks. Usage: node duckdb_helper.mjs <file>, where <file> holds statements separated by
// lines reading ";;". For each statement it prints one line per row (values JSON-encoded,
// tab-separated, BigInts as strings) followed by a line "--end <milliseconds>".
import { readFileSync } from 'node:fs';
import duckdb from '@duckdb/node-api';

const statements = readFileSync(process.argv[2], 'utf8')
  .split(/^;;$/m)
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const instance = await duckdb.DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const encode = (value) => {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (typeof value === 'object') return JSON.stringify(String(value));
  return JSON.stringify(value);
};
const lines = [];
for (const sql of statements) {
  const start = performance.now();
  const reader = await connection.runAndReadAll(sql);
  const elapsed = performance.now() - start;
  for (const row of reader.getRows()) lines.push(row.map(encode).join('\t'));
  lines.push(`--end ${elapsed.toFixed(3)}`);
}
process.stdout.write(lines.join('\n') + '\n');
