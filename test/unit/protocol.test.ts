import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GO_D_REDIS_CONTEXTS, HOST_CHARTS, INSTANCE_CHARTS, REQUIRED_CONTEXTS, instanceChartType, sanitizeJobName, type ChartDef } from '../../charts/catalog.ts';
import { chartData, chartDefinition, dataBlock, dataLayout, quote, toCollected } from '../../src/protocol/writer.ts';
import { ProtocolEmitter } from '../../src/protocol/emitter.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';

describe('chart catalog', () => {
  const all = [...INSTANCE_CHARTS, ...HOST_CHARTS];
  it('has the contexts the SPEC fixes', () => {
    for (const context of REQUIRED_CONTEXTS) assert.ok(INSTANCE_CHARTS.some((c) => c.context === context), context);
  });
  it('never reuses a context of the go.d redis collector (stock alerts would attach)', () => {
    for (const chart of all) assert.ok(!(GO_D_REDIS_CONTEXTS as readonly string[]).includes(chart.context), chart.context);
  });
  it('keeps every context under redis. and ids unique per chart type', () => {
    for (const chart of all) assert.match(chart.context, /^redis\.[a-z0-9_]+$/);
    assert.equal(new Set(INSTANCE_CHARTS.map((c) => c.id)).size, INSTANCE_CHARTS.length);
    assert.equal(new Set(HOST_CHARTS.map((c) => c.id)).size, HOST_CHARTS.length);
    assert.equal(new Set(all.map((c) => c.context)).size, all.length, 'one context, one chart');
  });
  it('sanitises job names into chart types', () => {
    assert.equal(sanitizeJobName('Cache-01.prod'), 'cache_01_prod');
    assert.equal(instanceChartType('local'), 'redis_fork_local');
    assert.equal(sanitizeJobName(''), 'job');
  });
});

describe('protocol writer', () => {
  const chart = INSTANCE_CHARTS.find((c) => c.id === 'fork_duration')!;
  it('writes a CHART line Netdata 1.37 parses, with labels and dimensions', () => {
    const text = chartDefinition('redis_fork_local', chart, 1, 'redis', [{ name: 'job', value: "it's \"local\"" }]);
    const out = parseProtocol(text);
    assert.deepEqual(out.problems, []);
    const parsed = out.charts.get('redis_fork_local.fork_duration')!;
    assert.equal(parsed.context, 'redis.latest_fork_usec');
    assert.equal(parsed.units, 'milliseconds');
    assert.equal(parsed.labels.job, 'it s  local', 'quotes cannot be escaped, so they are blanked');
    assert.equal(parsed.dimensions[0]?.divisor, 1000);
  });
  it('scales values to integers by the divisor and leaves gaps empty', () => {
    const ratio = INSTANCE_CHARTS.find((c) => c.id === 'cow_ratio')!;
    assert.equal(toCollected(12.345, ratio.dimensions[0]!), '1235');
    assert.equal(toCollected(undefined, ratio.dimensions[0]!), '');
    assert.equal(toCollected(Number.NaN, ratio.dimensions[0]!), '');
    assert.equal(toCollected(Number.POSITIVE_INFINITY, ratio.dimensions[0]!), '');
    const text = chartDefinition('t', ratio, 1, 'm') + chartData('t', ratio, { rdb: 12.345, max: 50 });
    const out = parseProtocol(text);
    assert.deepEqual(out.problems, []);
    assert.equal(displayValue(out, 't.cow_ratio', 'rdb'), 12.35);
    assert.equal(displayValue(out, 't.cow_ratio', 'aof_rewrite'), null, 'missing value = empty SET = gap');
  });
  it('sends BEGIN without microseconds first, then the time since the previous BEGIN', () => {
    const emitter = new ProtocolEmitter(1);
    const charts = [chart];
    const values = new Map([[chart.id, { latest_fork: 1 }]]);
    const first = emitter.define('t', chart, 'redis', []) + emitter.dataOf('t', charts, values, 1_000_000);
    const second = emitter.dataOf('t', charts, values, 2_000_500);
    assert.match(first, /^BEGIN t\.fork_duration$/m);
    assert.match(second, /^BEGIN t\.fork_duration 1000500$/m);
    assert.equal(emitter.define('t', chart, 'redis', []), '', 'defined once');
    assert.notEqual(emitter.define('t', chart, 'redis', [{ name: 'role', value: 'replica' }]), '', 'again when labels change');
  });
  it('quotes words with spaces', () => {
    assert.equal(quote('a b'), "'a b'");
    assert.equal(quote("x'y\n"), "'x y'");
  });
});

describe('docs', () => {
  it('README carries the chart table generated from the catalog (npm run docs)', async () => {
    const { readFileSync } = await import('node:fs');
    const { chartTable } = await import('../../charts/docs.ts');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    assert.ok(readme.includes(chartTable()), 'run npm run docs');
    for (const chart of [...INSTANCE_CHARTS, ...HOST_CHARTS]) assert.ok(readme.includes(`\`${chart.context}\``), chart.context);
  });
});

describe('data blocks', () => {
  it('send each value as toCollected makes it, on unscaled and scaled dimensions alike', () => {
    const chart = {
      ...INSTANCE_CHARTS[0]!,
      dimensions: [{ id: 'plain' }, { id: 'scaled', divisor: 1000 }, { id: 'multiplied', multiplier: 8 }],
    } as ChartDef;
    const samples = [0, -0, 1, -1, 7.5, -7.5, 0.4999, 2 ** 53, 2 ** 62, 2 ** 62 + 2 ** 12, -(2 ** 63), 1e300, NaN, Infinity, -Infinity, undefined, 123456789012];
    for (const value of samples) {
      const values = { plain: value, scaled: value, multiplied: value };
      const lines = dataBlock('BEGIN t.c', dataLayout(chart), values, 1_000_000).split('\n');
      assert.deepEqual(lines, ['BEGIN t.c 1000000', ...chart.dimensions.map((dim) => `SET '${dim.id}' = ${toCollected(value, dim)}`), 'END', ''], String(value));
    }
  });
});

