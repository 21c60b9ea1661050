/**
 * Per-size THP controls (kernel 6.8+) on the real kernel: with the top-level mode `never` and
 * `hugepages-2048kB/enabled` at `always`, a Redis that did not opt out gets 2 MB huge pages, and the
 * plugin says so (the host's mode for anonymous memory is `always`, THP reaches the process); with
 * the top level at `always` and that size at `never`, it gets none, and the plugin says `never`.
 * Redis's own `disable-thp yes` opts out only when the top-level mode is `always`: under the first
 * setting it does not, and Redis gets huge pages all the same.
 * Both THP files are set for the few seconds of the run and put back by scripts/with-sysctl.sh.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/redis-server.ts';
import { canWrite, withSysctl } from '../helpers/host-state.ts';
import { PLUGIN, assertBuilt } from '../helpers/plugin.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';
import { HostFs, readThpSizeModes } from '../../src/host/read.ts';

const THP = '/sys/kernel/mm/transparent_hugepage';
const PMD_SIZE = `${THP}/hugepages-2048kB/enabled`;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot change the THP modes';
  if (!existsSync(PMD_SIZE)) return `${PMD_SIZE} does not exist: this kernel (before 6.8, or not x86-64) has no per-size THP controls`;
  if (!canWrite(`${THP}/enabled`) || !canWrite(PMD_SIZE)) return `${THP} is read-only here`;
  return undefined;
}

/** The second case needs the sizes other than 2048 kB at `never`, as the kernel sets them by default. */
function otherSizesSkip(): string | undefined {
  const other = readThpSizeModes(new HostFs())?.find((size) => size.sizeKb !== 2048 && size.mode !== 'never');
  return other && `${THP}/hugepages-${other.sizeKb}kB/enabled is ${other.mode} on this host, not never`;
}

describe('per-size THP on the real kernel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redisfork-thp-sizes-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a Redis that did not opt out, fills it, and runs the plugin once, while the two THP files hold. */
  async function underThp(topLevel: string, pmdSize: string, disableThp = 'no'): Promise<{ anonKb: number; thpEnabled: string; out: ReturnType<typeof parseProtocol>; type: string }> {
    assertBuilt();
    const port = await freePort();
    const pidFile = join(dir, `redis-${port}.pid`);
    const once = join(dir, `once-${port}.txt`);
    const script = [
      `redis-server --port ${port} --bind 127.0.0.1 --dir "${dir}" --save '' --disable-thp ${disableThp} --enable-debug-command yes ` +
        `--daemonize yes --pidfile "${pidFile}" --logfile "${dir}/redis-${port}.log"`,
      `trap 'kill $(cat "${pidFile}") 2>/dev/null' EXIT`,
      `for _ in $(seq 50); do redis-cli -p ${port} ping >/dev/null 2>&1 && break; sleep 0.1; done`,
      `redis-cli -p ${port} DEBUG POPULATE 300000 key 100 >/dev/null`,
      `echo "ANON_KB $(awk '/^AnonHugePages:/ {print $2}' /proc/$(cat "${pidFile}")/smaps_rollup)"`,
      `echo "THP_ENABLED $(awk '/^THP_enabled:/ {print $2}' /proc/$(cat "${pidFile}")/status)"`,
      `"${PLUGIN}" --once --url redis://127.0.0.1:${port} > "${once}"`,
    ].join('\n');
    const before = [readFileSync(`${THP}/enabled`, 'utf8'), readFileSync(PMD_SIZE, 'utf8')];
    const run = withSysctl([`${THP}/enabled=${topLevel}`, `${PMD_SIZE}=${pmdSize}`], script);
    assert.deepEqual([readFileSync(`${THP}/enabled`, 'utf8'), readFileSync(PMD_SIZE, 'utf8')], before, 'both THP modes restored');
    assert.equal(run.code, 0, run.stderr);
    const out = parseProtocol(readFileSync(once, 'utf8'));
    assert.deepEqual(out.problems, []);
    return { anonKb: Number(/ANON_KB (\d+)/.exec(run.stdout)?.[1]), thpEnabled: /THP_ENABLED (\d*)/.exec(run.stdout)?.[1] ?? '', out, type: `redis_fork_127_0_0_1_${port}` };
  }

  it('sees 2 MB huge pages reach Redis under a top-level never with hugepages-2048kB at always', { skip: skipReason() }, async () => {
    const { anonKb, out, type } = await underThp('never', 'always');
    assert.ok(anonKb >= 2048, `the kernel gave Redis 2 MB huge pages under a top-level never (AnonHugePages ${anonKb} kB)`);
    assert.equal(displayValue(out, 'redis_fork_host.thp_enabled', 'always'), 1, 'the mode anonymous memory gets');
    assert.equal(displayValue(out, 'redis_fork_host.thp_enabled', 'never'), 0);
    assert.equal(displayValue(out, `${type}.thp`, 'host_always'), 1);
    assert.equal(displayValue(out, `${type}.thp`, 'reachable'), 1);
    assert.ok(Number(displayValue(out, `${type}.anon_huge_pages`, 'anon_huge_pages')) >= 2048 * 1024, 'the plugin read the huge pages');
  });

  it("warns where Redis's own disable-thp yes does not protect it: Redis opts out only under a top-level always", { skip: skipReason() }, async () => {
    const { anonKb, thpEnabled, out, type } = await underThp('never', 'always', 'yes');
    assert.equal(thpEnabled, '1', 'disable-thp yes did not opt out (the top-level mode is not always)');
    assert.ok(anonKb >= 2048, `and Redis got huge pages (AnonHugePages ${anonKb} kB)`);
    assert.equal(displayValue(out, `${type}.thp`, 'host_always'), 1, 'seen from the host mode, not only from the huge pages already there');
    assert.equal(displayValue(out, `${type}.thp`, 'reachable'), 1);
  });

  it('sees none under a top-level always with hugepages-2048kB at never (and every other size at never)', { skip: skipReason() ?? otherSizesSkip() }, async () => {
    const { anonKb, out, type } = await underThp('always', 'never');
    assert.equal(anonKb, 0, 'the kernel gave Redis no huge pages');
    assert.equal(displayValue(out, 'redis_fork_host.thp_enabled', 'never'), 1);
    assert.equal(displayValue(out, 'redis_fork_host.thp_enabled', 'always'), 0);
    assert.equal(displayValue(out, `${type}.thp`, 'host_always'), 0);
    assert.equal(displayValue(out, `${type}.thp`, 'reachable'), 0);
  });
});
