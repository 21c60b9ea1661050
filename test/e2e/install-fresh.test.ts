/**
 * The three ways in, each on a fresh Debian 12 (a chroot in namespaces of its own, see
 * test/helpers/debian-root.ts) with Debian's own netdata 1.37:
 *  - the .deb with Debian's nodejs (18): installed with apt next to redis-server, Netdata charts a
 *    Redis within a minute with no config file, the alert pack is loaded, and a purge leaves no file
 *    of ours behind;
 *  - the standalone build on a host with no node at all: --once, doctor, install, Netdata mode;
 *  - the bundle's install where Netdata's PATH has no node: refused with the fix when the netdata
 *    user cannot run the node at hand, pinned to an absolute node when it can.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { DebianRoot, NETDATA_SHELL, debianRootSkipReason } from '../helpers/debian-root.ts';
import { PLUGIN } from '../helpers/plugin.ts';

const DIST = new URL('../../dist/', import.meta.url).pathname;
const deb = () => readdirSync(DIST).find((f) => /^netdata-plugin-redisfork_.*_all\.deb$/.test(f));
const STANDALONE = `${DIST}redisfork.plugin-linux-x64`;
const skip = debianRootSkipReason();
if (skip) console.log(`SKIP install-fresh: ${skip}`);

const lines = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length).trim());

describe('the Debian package on a fresh Debian 12', { skip }, () => {
  let root: DebianRoot;
  before(() => {
    assert.ok(deb(), 'dist/ holds no .deb: npm run package makes it (scripts/test.sh does)');
    root = DebianRoot.create();
    root.copyIn(`${DIST}${deb()}`, `root/${deb()}`);
  });
  after(() => root?.destroy());

  it('installs with apt next to redis-server, pulling Debian\'s netdata and nodejs', { timeout: 900_000 }, async (t) => {
    const r = await root.sh(`apt-get update -qq && apt-get install -y -qq --no-install-recommends ./${deb()} redis-server >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }
      echo "NODE $(node --version) $(dpkg -S /usr/bin/node | cut -d: -f1)"
      echo "NETDATA $(dpkg-query -W -f '\${Version}' netdata)"
      dpkg -L netdata-plugin-redisfork | sed 's/^/FILE /'
      test -e /etc/netdata/redisfork.conf && echo USER_CONFIG || echo NO_USER_CONFIG`, { timeoutMs: 900_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [node] = lines(r.stdout, 'NODE ');
    t.diagnostic(`node ${node}, netdata ${lines(r.stdout, 'NETDATA ')[0]}`);
    assert.match(node ?? '', /^v(1[89]|[2-9]\d)\.\S+ nodejs$/, 'node is Debian\'s nodejs, 18 or later');
    assert.match(lines(r.stdout, 'NETDATA ')[0] ?? '', /^1\.3[7-9]|^1\.[4-9]\d|^[2-9]\./);
    const files = lines(r.stdout, 'FILE ');
    for (const f of ['/usr/lib/netdata/plugins.d/redisfork.plugin', '/usr/lib/netdata/conf.d/health.d/redisfork.conf', '/usr/lib/netdata/conf.d/redisfork.conf']) assert.ok(files.includes(f), `${f} in ${files.join(' ')}`);
    assert.ok(r.stdout.includes('NO_USER_CONFIG'), 'no config file of the user: the plugin must find Redis itself');
  });

  it('Netdata charts the Redis within a minute with no config file, and loads the alert pack', async (t) => {
    const r = await root.sh(`${NETDATA_SHELL}
      start_redis
      start_netdata_and_wait_for redis.latest_fork_usec
      wait_for_alerts
      echo "PLUGIN_EXE $(plugin_exes)"`, { isolated: true, timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const after = Number(lines(r.stdout, 'CHART_AFTER ')[0]);
    t.diagnostic(`chart after ${after} s; plugin run by ${lines(r.stdout, 'PLUGIN_EXE ')[0]}`);
    assert.ok(after <= 60, `the chart came after ${after} s`);
    const alerts = lines(r.stdout, 'ALERT ');
    const pack = [...readFileSync(new URL('../../health.d/redisfork.conf', import.meta.url), 'utf8').matchAll(/^\s*template:\s*(\S+)/gm)].map((m) => m[1]);
    assert.ok(pack.length >= 10, `templates in the pack: ${pack.join(' ')}`);
    // redis_fork_tasks_limit attaches only to a Redis in a pids cgroup below the root (its chart
    // exists only there): this one runs in the test's own, which may be the root.
    assert.deepEqual(pack.filter((name) => !alerts.includes(name!) && name !== 'redis_fork_tasks_limit'), [], `every template of the pack is loaded (${alerts.join(' ')})`);
    assert.match(lines(r.stdout, 'PLUGIN_EXE ')[0] ?? '', /\/usr\/bin\/nodejs|\/usr\/bin\/node/, 'Netdata runs the plugin with Debian\'s node');
  });

  it('purge leaves no file of ours behind, the config a user made included', async () => {
    const r = await root.sh(`cp /usr/lib/netdata/conf.d/redisfork.conf /etc/netdata/redisfork.conf
      apt-get purge -y -qq netdata-plugin-redisfork >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }
      dpkg-query -W -f '\${Status}\\n' netdata-plugin-redisfork 2>&1 | sed 's/^/STATUS /'
      find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /root \\) -prune -o -iname '*redisfork*' -print | sed 's/^/LEFT /'
      echo DONE`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.stdout.includes('DONE'));
    assert.deepEqual(lines(r.stdout, 'LEFT '), []);
    assert.doesNotMatch(lines(r.stdout, 'STATUS ')[0] ?? '', /install ok installed/);
  });
});

describe('the standalone build and install on a fresh Debian 12 with no node', { skip }, () => {
  let root: DebianRoot;
  before(() => {
    assert.ok(existsSync(STANDALONE), 'dist/redisfork.plugin-linux-x64 is missing: npm run build:standalone makes it (scripts/test.sh does)');
    root = DebianRoot.create();
    root.copyIn(STANDALONE, 'root/redisfork.plugin-linux-x64', 0o755);
    root.copyIn(PLUGIN, 'root/redisfork.plugin', 0o755);
    // A node the netdata user cannot reach (under /root, mode 700) and one it can (/opt).
    root.copyIn(process.execPath, 'root/node/bin/node', 0o755);
    root.copyIn(process.execPath, 'opt/node/bin/node', 0o755);
  });
  after(() => root?.destroy());

  it('installs Debian\'s netdata and redis-server, and no node', { timeout: 900_000 }, async () => {
    const r = await root.sh(`apt-get update -qq && apt-get install -y -qq --no-install-recommends netdata redis-server >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }
      command -v node && echo HAS_NODE || echo NO_NODE
      stat -c 'ROOT_MODE %a' /root`, { timeoutMs: 900_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.stdout.includes('NO_NODE'), r.stdout);
    assert.equal(lines(r.stdout, 'ROOT_MODE ')[0], '700');
  });

  it('runs --once and doctor with no node on the PATH', async () => {
    const r = await root.sh(`${NETDATA_SHELL}
      start_redis
      ./redisfork.plugin-linux-x64 --once --url redis://127.0.0.1:6379 > /tmp/once.out; echo "ONCE_EXIT $?"
      grep -c '^BEGIN redis_fork_' /tmp/once.out | sed 's/^/ONCE_BEGINS /'
      ./redisfork.plugin-linux-x64 doctor --url redis://127.0.0.1:6379 > /tmp/doctor.out; echo "DOCTOR_EXIT $?"
      sed 's/^/DOCTOR /' /tmp/doctor.out`, { isolated: true, timeoutMs: 120_000 });
    assert.equal(lines(r.stdout, 'ONCE_EXIT ')[0], '0', r.stdout + r.stderr);
    assert.ok(Number(lines(r.stdout, 'ONCE_BEGINS ')[0]) > 3, r.stdout);
    assert.match(lines(r.stdout, 'DOCTOR_EXIT ')[0] ?? '', /^[01]$/, r.stdout + r.stderr);
    assert.match(lines(r.stdout, 'DOCTOR ').join('\n'), /overcommit/i);
  });

  it('install of the bundle: refused with the fix when the netdata user cannot run the node, pinned when it can', async () => {
    const r = await root.sh(`/root/node/bin/node /root/redisfork.plugin install > /tmp/refused.out; echo "REFUSED_EXIT $?"
      sed 's/^/REFUSED /' /tmp/refused.out
      test -e /usr/lib/netdata/plugins.d/redisfork.plugin && echo WROTE_PLUGIN || echo NO_PLUGIN
      /opt/node/bin/node /root/redisfork.plugin install > /tmp/pinned.out; echo "PINNED_EXIT $?"
      sed 's/^/PINNED /' /tmp/pinned.out
      sed -n 2p /usr/lib/netdata/plugins.d/redisfork.plugin | sed 's/^/SECOND_LINE /'
      runuser -u netdata -- /usr/lib/netdata/plugins.d/redisfork.plugin --version | sed 's/^/AS_NETDATA /'`);
    assert.equal(lines(r.stdout, 'REFUSED_EXIT ')[0], '1', r.stdout + r.stderr);
    const refused = lines(r.stdout, 'REFUSED ').join('\n');
    assert.match(refused, /no node on Netdata's PATH/);
    assert.match(refused, /\/root\/node\/bin\/node does not run as the netdata user \(EACCES\)/);
    assert.match(refused, /redisfork\.plugin-linux-x64 install/);
    assert.ok(r.stdout.includes('NO_PLUGIN'), 'nothing written when refused');
    assert.equal(lines(r.stdout, 'PINNED_EXIT ')[0], '0', r.stdout + r.stderr);
    assert.match(lines(r.stdout, 'PINNED ').join('\n'), /the installed plugin runs \/opt\/node\/bin\/node .*written into its first line/);
    assert.match(lines(r.stdout, 'SECOND_LINE ')[0] ?? '', /exec \/opt\/node\/bin\/node /);
    assert.match(lines(r.stdout, 'AS_NETDATA ')[0] ?? '', /^\d+\.\d+\.\d+/);
  });

  it('install of the standalone build, and Netdata runs it with no node', async () => {
    const r = await root.sh(`${NETDATA_SHELL}
      ./redisfork.plugin-linux-x64 install > /tmp/install.out; echo "INSTALL_EXIT $?"
      sed 's/^/INSTALL /' /tmp/install.out
      cmp -s ./redisfork.plugin-linux-x64 /usr/lib/netdata/plugins.d/redisfork.plugin && echo SAME_FILE
      start_redis
      start_netdata_and_wait_for redis.latest_fork_usec
      echo "PLUGIN_EXE $(plugin_exes)"`, { isolated: true, timeoutMs: 300_000 });
    assert.equal(lines(r.stdout, 'INSTALL_EXIT ')[0], '0', r.stdout + r.stderr);
    assert.match(lines(r.stdout, 'INSTALL ').join('\n'), /the standalone build/);
    assert.ok(r.stdout.includes('SAME_FILE'), r.stdout);
    assert.ok(Number(lines(r.stdout, 'CHART_AFTER ')[0]) <= 60, r.stdout + r.stderr);
    assert.match(lines(r.stdout, 'PLUGIN_EXE ')[0] ?? '', /^\/usr\/lib\/netdata\/plugins\.d\/redisfork\.plugin$/, `the process is the standalone executable itself: ${r.stdout}`);
  });
});
