/**
 * What huge pages cost a fork of Redis on the real kernel: not the fork itself (a heap in huge pages
 * forks faster, which is why the fork-time alerts and the doctor's fork-time remedy do not name THP),
 * and at the writes after it what the doctor says for this kernel.
 *
 * What a write to a huge page shared with the fork child copies, on the real kernel, with Redis: the
 * doctor says all 2 MiB before kernel 5.8 and 4 KiB from 5.8 on (the kernel splits the huge page),
 * and this test holds it to that on the kernel it runs on.
 *
 * A Redis that did not opt out of THP is filled under host THP `always` (so its heap is in 2 MB huge
 * pages), a BGSAVE is started and slowed (`rdb-key-save-delay -20`: a 1 µs sleep every 20 keys), and
 * while the child saves, Redis's main process overwrites 300 keys spread over the keyspace: every
 * huge page of the heap gets a write. The child's COW (`rdb_last_cow_size`) is then about the whole
 * heap where the kernel copies huge pages, and a few MB where it splits them (Redis's main process
 * then also holds fewer huge pages). Seen on 6.18: a COW of 2.4 MB for 300 writes over 50 MB of huge
 * pages, and the main process's huge pages down from 50 MB to 2 MB. The THP mode is set for the few
 * seconds of the run and put back by scripts/with-sysctl.sh.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedis, waitForBgsave, type RedisServer } from '../helpers/redis-server.ts';
import { canWrite, withSysctl } from '../helpers/host-state.ts';
import { PLUGIN, assertBuilt } from '../helpers/plugin.ts';
import { kernelAtLeast, parseKernelRelease } from '../../src/host/parse.ts';

const THP = '/sys/kernel/mm/transparent_hugepage';
const PMD_SIZE = `${THP}/hugepages-2048kB/enabled`;
const KEYS = 300_000;
const WRITES = 300;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot change the THP mode';
  if (!existsSync(`${THP}/enabled`)) return 'this kernel has no transparent huge pages';
  if (!canWrite(`${THP}/enabled`) || (existsSync(PMD_SIZE) && !canWrite(PMD_SIZE))) return `${THP} is read-only here`;
  return undefined;
}

describe('copy-on-write of huge pages on the real kernel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redisfork-thp-cow-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("copies what the doctor says this kernel copies when Redis writes to a huge page its fork child shares", { skip: skipReason() }, async (t) => {
    assertBuilt();
    const port = await freePort();
    const pidFile = join(dir, `redis-${port}.pid`);
    const cli = `redis-cli -p ${port}`;
    const anonKb = `awk '/^AnonHugePages:/ {print $2}' /proc/$(cat "${pidFile}")/smaps_rollup`;
    const script = [
      `redis-server --port ${port} --bind 127.0.0.1 --dir "${dir}" --save '' --disable-thp no --enable-debug-command yes ` +
        `--daemonize yes --pidfile "${pidFile}" --logfile "${dir}/redis-${port}.log"`,
      `trap 'kill $(cat "${pidFile}") 2>/dev/null' EXIT`,
      `for _ in $(seq 50); do ${cli} ping >/dev/null 2>&1 && break; sleep 0.1; done`,
      `${cli} DEBUG POPULATE ${KEYS} key 100 >/dev/null`,
      `echo "ANON_BEFORE $(${anonKb})"`,
      `${cli} CONFIG SET rdb-key-save-delay -20 >/dev/null`,
      `${cli} BGSAVE >/dev/null`,
      // One write per 1000 keys: DEBUG POPULATE laid the keys out in order, so every part of the heap gets some.
      `for i in $(seq 0 $((${KEYS} / ${WRITES})) $((${KEYS} - 1))); do echo "SET key:$i value-written-during-the-save-$i"; done | ${cli} >/dev/null`,
      `echo "SAVING_AFTER_WRITES $(${cli} INFO persistence | tr -d '\\r' | awk -F: '/^rdb_bgsave_in_progress:/ {print $2}')"`,
      `echo "ANON_AFTER $(${anonKb})"`,
      `for _ in $(seq 300); do ${cli} INFO persistence | grep -q '^rdb_bgsave_in_progress:0' && break; sleep 0.1; done`,
      `${cli} INFO persistence | tr -d '\\r' | grep -E '^(rdb_last_cow_size|rdb_last_bgsave_status):'`,
      `"${PLUGIN}" doctor --url redis://127.0.0.1:${port} --json > "${dir}/doctor.json"`,
    ].join('\n');
    const settings = [`${THP}/enabled=always`, ...(existsSync(PMD_SIZE) ? [`${PMD_SIZE}=inherit`] : [])];
    const before = [readFileSync(`${THP}/enabled`, 'utf8'), existsSync(PMD_SIZE) ? readFileSync(PMD_SIZE, 'utf8') : ''];
    const run = withSysctl(settings, script);
    assert.deepEqual([readFileSync(`${THP}/enabled`, 'utf8'), existsSync(PMD_SIZE) ? readFileSync(PMD_SIZE, 'utf8') : ''], before, 'THP mode restored');
    assert.equal(run.code, 0, run.stderr);

    const field = (name: string) => /^(\S+)/.exec(new RegExp(`^${name}[ :](.*)$`, 'm').exec(run.stdout)?.[1] ?? '')?.[1];
    const anonBeforeKb = Number(field('ANON_BEFORE'));
    const anonAfterKb = Number(field('ANON_AFTER'));
    const cowKb = Number(field('rdb_last_cow_size')) / 1024;
    assert.equal(field('rdb_last_bgsave_status'), 'ok');
    assert.equal(field('SAVING_AFTER_WRITES'), '1', 'the writes came while the child was saving');
    assert.ok(anonBeforeKb >= 16 * 1024, `Redis's heap is in huge pages (AnonHugePages ${anonBeforeKb} kB)`);

    const version = parseKernelRelease(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    assert.ok(version, 'the kernel release is known');
    const splits = kernelAtLeast(version, 5, 8);
    const report = JSON.parse(readFileSync(join(dir, 'doctor.json'), 'utf8')) as { instances: { findings: { check: string; summary: string }[] }[] };
    const thp = report.instances[0]?.findings.find((f) => f.check === 'thp');
    assert.ok(thp, 'the doctor has a THP finding');
    const detail = `COW ${Math.round(cowKb)} kB of ${anonBeforeKb} kB in huge pages; AnonHugePages ${anonBeforeKb} -> ${anonAfterKb} kB; kernel ${version.join('.')}`;
    t.diagnostic(detail);
    if (splits) {
      assert.ok(cowKb < anonBeforeKb / 4, `the kernel split the shared huge pages and copied 4 KiB pages (${detail})`);
      assert.ok(anonAfterKb < anonBeforeKb, `Redis's written huge pages were split (${detail})`);
      assert.match(thp.summary, /splits it and copies 4 KiB/);
    } else {
      assert.ok(cowKb > anonBeforeKb / 2, `the kernel copied whole huge pages (${detail})`);
      assert.match(thp.summary, /copies all 2 MiB/);
    }
  });

  /** The fastest of three forks (BGSAVE) of a Redis, in µs. */
  async function fastestFork(server: RedisServer): Promise<number> {
    const client = server.client();
    let fastest = Infinity;
    for (let i = 0; i < 3; i++) {
      await client.bgsave();
      await waitForBgsave(client);
      fastest = Math.min(fastest, Number(/latest_fork_usec:(\d+)/.exec(await client.info('stats'))?.[1]));
    }
    return fastest;
  }

  it('forks a heap in huge pages faster than the same heap in 4 KiB pages', { skip: skipReason() }, async (t) => {
    const servers = await Promise.all([startRedis({ args: ['--disable-thp', 'no'] }), startRedis({ args: ['--disable-thp', 'no'] })]);
    try {
      const [huge, small] = servers as [RedisServer, RedisServer];
      // The mode at the page faults decides: each Redis is filled under its own, then forked under the host's.
      const fill = (server: RedisServer, mode: string) => {
        const settings = [`${THP}/enabled=${mode}`, ...(existsSync(PMD_SIZE) ? [`${PMD_SIZE}=inherit`] : [])];
        const run = withSysctl(settings, `redis-cli -p ${server.port} DEBUG POPULATE 1000000 key 100 >/dev/null`);
        assert.equal(run.code, 0, run.stderr);
      };
      fill(huge, 'always');
      fill(small, 'never');
      const anonKb = (server: RedisServer) => Number(/^AnonHugePages:\s+(\d+)/m.exec(readFileSync(`/proc/${server.pid}/smaps_rollup`, 'utf8'))?.[1]);
      assert.ok(anonKb(huge) >= 100 * 1024, `the first heap is in huge pages (${anonKb(huge)} kB)`);
      assert.equal(anonKb(small), 0, 'the second is not');
      const [hugeUs, smallUs] = [await fastestFork(huge), await fastestFork(small)];
      t.diagnostic(`fastest of three forks: ${hugeUs} µs with ${anonKb(huge)} kB in huge pages, ${smallUs} µs without`);
      assert.ok(hugeUs < smallUs / 2, `huge pages: ${hugeUs} µs, 4 KiB pages: ${smallUs} µs`);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
});
