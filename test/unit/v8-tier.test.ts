import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OPTIMIZE_ABOVE_JOBS, compilerChoice } from '../../src/v8-tier.ts';

const PLUGIN_FLAGS = ['--min-semi-space-size=1', '--max-semi-space-size=16', '--no-opt', '--no-sparkplug', '--v8-pool-size=1'];

describe('the compiler tier for the job count', () => {
  it('keeps the interpreter up to the threshold and optimizes above it', () => {
    assert.equal(compilerChoice(1, PLUGIN_FLAGS, {}), 'interpreter');
    assert.equal(compilerChoice(OPTIMIZE_ABOVE_JOBS, PLUGIN_FLAGS, {}), 'interpreter');
    assert.equal(compilerChoice(OPTIMIZE_ABOVE_JOBS + 1, PLUGIN_FLAGS, {}), 'optimizing');
  });

  it('leaves flags alone that someone chose: REDISFORK_NODE_FLAGS (even empty), or node run without the plugin\'s flags', () => {
    assert.equal(compilerChoice(1000, PLUGIN_FLAGS, { REDISFORK_NODE_FLAGS: '' }), 'left as set');
    assert.equal(compilerChoice(1000, PLUGIN_FLAGS, { REDISFORK_NODE_FLAGS: '--no-opt' }), 'left as set');
    assert.equal(compilerChoice(1000, [], {}), 'left as set');
  });
});
