/** dist/redisfork.plugin is one self-contained file: alone in an empty directory it runs with nothing but node. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLUGIN, assertBuilt } from '../helpers/plugin.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { parseProtocol } from '../helpers/protocol.ts';

const run = promisify(execFile);

describe('the built plugin', () => {
  let dir: string;
  let redis: RedisServer;
  let lonely: string;
  before(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'redisfork-alone-'));
    lonely = join(dir, 'redisfork.plugin');
    copyFileSync(PLUGIN, lonely);
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts with a shebang and is executable', () => {
    // A shell line that execs node with the plugin's V8 flags, which JavaScript reads as a string and a comment.
    assert.match(readFileSync(PLUGIN, 'utf8'), /^#!\/bin\/sh\n':' \/\/; exec node \$\{REDISFORK_NODE_FLAGS-(--[\w-]+(=\S+)? ?)*\} "\$0" "\$@"\n/);
    assert.equal(statSync(PLUGIN).mode & 0o755, 0o755);
  });

  it('is ASCII only, so that V8 keeps its source as one byte per character', () => {
    const bytes = readFileSync(PLUGIN);
    const at = bytes.findIndex((b) => b > 0x7f);
    assert.equal(at, -1, `a non-ASCII byte at ${at}: ${bytes.subarray(Math.max(0, at - 40), at + 10).toString()}`);
  });

  it('runs alone in an empty directory, without node_modules', async () => {
    const { stdout } = await run(lonely, ['--version'], { cwd: dir });
    assert.match(stdout, /^\d+\.\d+\.\d+/);
    const once = await run(lonely, ['--once', '--url', redis.url], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
    const out = parseProtocol(once.stdout);
    assert.deepEqual(out.problems, []);
    assert.ok(out.charts.size > 10);
  });

  it('loads child_process and assert only when they are used (not in Netdata mode), and they still work when they are', async () => {
    const preload = join(dir, 'loaded.cjs');
    // At exit: the built-in modules loaded after this preload.
    writeFileSync(preload, "const before = new Set(process.moduleLoadList); process.on('exit', () => require('fs').writeSync(2, '\\nLOADED ' + process.moduleLoadList.filter((m) => !before.has(m)).join(',') + '\\n'));\n");
    const loaded = (stderr: string) => /\nLOADED (.*)\n/.exec(stderr)?.[1]?.split(',') ?? [];
    const once = await run('node', ['-r', preload, lonely, '--once', '--url', redis.url], { cwd: dir });
    assert.deepEqual(parseProtocol(once.stdout).problems, []);
    const atWork = loaded(once.stderr);
    assert.ok(atWork.includes('NativeModule net'), `the preload saw the plugin's modules: ${atWork.join(' ')}`);
    for (const module of ['NativeModule child_process', 'NativeModule assert', 'NativeModule dgram']) assert.ok(!atWork.includes(module), `${module} loaded in a collection`);
    // install --dry-run runs `node --version` through child_process: the stand-in loads the real module.
    const install = await run('node', ['-r', preload, lonely, 'install', '--dry-run'], { cwd: dir });
    assert.match(install.stdout, /Node v\d+/);
    assert.ok(loaded(install.stderr).includes('NativeModule child_process'));
  });
});
