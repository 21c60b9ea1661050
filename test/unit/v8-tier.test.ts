import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_GC_MIN_INTERVAL_MS, HOLD_ABOVE_JOBS, OPTIMIZE_ABOVE_JOBS, TIER_FLAGS, V8Tier, fullGcIntervalMs, tierFor } from '../../src/v8-tier.ts';

const PLUGIN_FLAGS = ['--min-semi-space-size=1', '--max-semi-space-size=16', '--no-opt', '--no-sparkplug', '--v8-pool-size=1'];

describe('the V8 tier for the job count', () => {
  it('runs the interpreter up to the threshold, holding the young generation above a few jobs, and optimizes above it', () => {
    assert.equal(tierFor(1, PLUGIN_FLAGS, {}), 'few');
    assert.equal(tierFor(HOLD_ABOVE_JOBS, PLUGIN_FLAGS, {}), 'few');
    assert.equal(tierFor(HOLD_ABOVE_JOBS + 1, PLUGIN_FLAGS, {}), 'several');
    assert.equal(tierFor(OPTIMIZE_ABOVE_JOBS, PLUGIN_FLAGS, {}), 'several');
    assert.equal(tierFor(OPTIMIZE_ABOVE_JOBS + 1, PLUGIN_FLAGS, {}), 'many');
  });

  it('leaves flags alone that someone chose: REDISFORK_NODE_FLAGS (even empty), or node run without the plugin\'s flags', () => {
    assert.equal(tierFor(1000, PLUGIN_FLAGS, { REDISFORK_NODE_FLAGS: '' }), 'left as set');
    assert.equal(tierFor(1000, PLUGIN_FLAGS, { REDISFORK_NODE_FLAGS: '--no-opt' }), 'left as set');
    assert.equal(tierFor(50, [], {}), 'left as set');
  });

  it('sets each tier\'s flags once, only upwards, and none for a few jobs (node:v8 is not even loaded then)', async () => {
    const set: string[] = [];
    const tier = new V8Tier(PLUGIN_FLAGS, {}, async (flag) => void set.push(flag));
    assert.equal(await tier.fit(1), undefined);
    assert.deepEqual(set, []);
    assert.equal(await tier.fit(50), 'several');
    assert.equal(await tier.fit(60), undefined);
    assert.deepEqual(set, TIER_FLAGS.several);
    assert.equal(await tier.fit(1000), 'many');
    assert.equal(await tier.fit(50), undefined, 'never back down');
    assert.equal(await tier.fit(2000), undefined);
    assert.deepEqual(set, [...TIER_FLAGS.several, ...TIER_FLAGS.many]);
  });

  it('goes straight to many jobs, and the young generation is let grow after being held', async () => {
    const set: string[] = [];
    assert.equal(await new V8Tier(PLUGIN_FLAGS, {}, async (flag) => void set.push(flag)).fit(500), 'many');
    assert.deepEqual(set, TIER_FLAGS.many);
    assert.ok(TIER_FLAGS.many.includes('--semi-space-growth-factor=2'), 'many undoes the hold');
  });

  it('runs a full collection in the several tier only, every 1000 s / jobs and at least 10 s apart, counted from entering it', async () => {
    assert.equal(fullGcIntervalMs(100), FULL_GC_MIN_INTERVAL_MS);
    assert.equal(fullGcIntervalMs(20), 50_000);
    let collections = 0;
    const tier = new V8Tier(PLUGIN_FLAGS, {}, async () => {}, () => collections++);
    await tier.fit(5);
    for (let t = 0; t <= 200_000; t += 1000) tier.afterIteration(t);
    assert.equal(collections, 0, 'none with a few jobs');

    await tier.fit(20);
    const start = 300_000;
    const ran: number[] = [];
    for (let t = start; t <= start + 120_000; t += 1000) if (tier.afterIteration(t)) ran.push(t - start);
    assert.deepEqual(ran, [50_000, 100_000]);

    await tier.fit(100);
    ran.length = 0;
    for (let t = start + 121_000; t <= start + 150_000; t += 1000) if (tier.afterIteration(t)) ran.push(t - start);
    assert.deepEqual(ran, [121_000, 131_000, 141_000], 'the interval follows the job count');
    assert.equal(collections, 5);

    await tier.fit(1000);
    for (let t = start + 151_000; t <= start + 300_000; t += 1000) tier.afterIteration(t);
    assert.equal(collections, 5, 'none once the young generation may grow');
  });

  it('runs none when the flags were left as set or gc is not exposed', async () => {
    let collections = 0;
    const leftAsSet = new V8Tier(PLUGIN_FLAGS, { REDISFORK_NODE_FLAGS: '' }, async () => {}, () => collections++);
    await leftAsSet.fit(50);
    const noGc = new V8Tier(PLUGIN_FLAGS, {}, async () => {}, null);
    await noGc.fit(50);
    for (let t = 0; t <= 600_000; t += 1000) {
      assert.equal(leftAsSet.afterIteration(t), false);
      assert.equal(noGc.afterIteration(t), false);
    }
    assert.equal(collections, 0);
  });
});
