/** `install` into a directory laid out like a Debian Netdata: writes, is safe twice, keeps a user's config. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLUGIN, runPlugin } from '../helpers/plugin.ts';

describe('install', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'redisfork-install-'));
    mkdirSync(join(root, 'usr/lib/netdata/plugins.d'), { recursive: true });
    mkdirSync(join(root, 'etc/netdata'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/netdata/plugins.d/apps.plugin'), '');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnetdata:x:4242:\n');
    // The Node that Netdata will find on its PATH in this root: this machine's.
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    symlinkSync(process.execPath, join(root, 'usr/bin/node'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('--dry-run says what it would do and writes nothing', async () => {
    const result = await runPlugin(['install', '--dry-run', '--root', root]);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /found the Debian\/Ubuntu netdata package/);
    assert.match(result.stdout, /would write \/usr\/lib\/netdata\/plugins.d\/redisfork.plugin/);
    assert.match(result.stdout, new RegExp(`Netdata will run it with /usr/bin/node \\(Node ${process.version.replace(/\./g, '\\.')}`));
    assert.equal(existsSync(join(root, 'usr/lib/netdata/plugins.d/redisfork.plugin')), false);
  });

  it('installs the plugin, the alert pack and a config readable by the netdata group', async () => {
    const result = await runPlugin(['install', '--root', root]);
    assert.equal(result.code, 0, result.stdout);
    const plugin = join(root, 'usr/lib/netdata/plugins.d/redisfork.plugin');
    assert.ok(readFileSync(plugin).equals(readFileSync(PLUGIN)));
    assert.equal(statSync(plugin).mode & 0o777, 0o755);
    assert.equal(
      readFileSync(join(root, 'usr/lib/netdata/conf.d/health.d/redisfork.conf'), 'utf8'),
      readFileSync(new URL('../../health.d/redisfork.conf', import.meta.url), 'utf8'),
    );
    const config = join(root, 'etc/netdata/redisfork.conf');
    assert.equal(statSync(config).mode & 0o777, 0o640);
    assert.equal(statSync(config).gid, 4242);
    const check = await runPlugin(['check-config', config]);
    assert.equal(check.code, 0, check.stdout);
  });

  it('is safe to run twice, and never overwrites a user config', async () => {
    const config = join(root, 'etc/netdata/redisfork.conf');
    writeFileSync(config, 'jobs:\n  - { name: mine, url: "redis://10.0.0.1:6379" }\n');
    const result = await runPlugin(['install', '--root', root]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /unchanged \/usr\/lib\/netdata\/plugins.d\/redisfork.plugin/);
    assert.match(result.stdout, /unchanged \/usr\/lib\/netdata\/conf.d\/health.d\/redisfork.conf/);
    assert.match(result.stdout, /kept \/etc\/netdata\/redisfork.conf/);
    assert.match(readFileSync(config, 'utf8'), /name: mine/);
  });

  it('refuses, writing nothing, when the node on Netdata\'s PATH is older than 18, and says how to fix it', async () => {
    const old = mkdtempSync(join(tmpdir(), 'redisfork-oldnode-'));
    try {
      mkdirSync(join(old, 'usr/lib/netdata/plugins.d'), { recursive: true });
      mkdirSync(join(old, 'usr/local/bin'), { recursive: true });
      writeFileSync(join(old, 'usr/lib/netdata/plugins.d/apps.plugin'), '');
      writeFileSync(join(old, 'usr/local/bin/node'), '#!/bin/sh\necho v16.20.2\n');
      chmodSync(join(old, 'usr/local/bin/node'), 0o755);
      const result = await runPlugin(['install', '--root', old]);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stdout, /Not installed: \/usr\/local\/bin\/node on Netdata's PATH is Node v16\.20\.2, older than 18/);
      assert.match(result.stdout, /apt-get install nodejs/);
      assert.match(result.stdout, /redisfork\.plugin-linux-x64 install/);
      assert.equal(existsSync(join(old, 'usr/lib/netdata/plugins.d/redisfork.plugin')), false);
      assert.equal(existsSync(join(old, 'usr/lib/netdata/conf.d')), false);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('says so when there is no Netdata', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'redisfork-nonetdata-'));
    const result = await runPlugin(['install', '--root', empty]);
    rmSync(empty, { recursive: true, force: true });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /No Netdata found/);
  });
});
