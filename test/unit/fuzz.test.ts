/**
 * Fuzzing the parsers with random and mutated real inputs: they must never throw, and whatever
 * they produce must still come out as lines Netdata 1.37 accepts. Seeded, so a failure repeats.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { INFO_FIELDS, parseInfoFields, parseRedisInfo } from '../../src/redis/info.ts';
import {
  parseBracketChoice, parseCgroupLimit, parseKeyValueKb, parseProcCgroup, parseProcessStatus, parseSmaps,
  parseSpaceSeparated, pickMeminfo, MEMINFO_IN_ORDER, STATUS_IN_ORDER, parseStatStartTicks, parseUptime, parseKernelRelease,
} from '../../src/host/parse.ts';
import { instanceValues, hostValues } from '../../src/analysis/metrics.ts';
import { diagnose, formatDiagnoses } from '../../src/analysis/doctor.ts';
import { HostFs, readKernelFacts, readProcessFacts } from '../../src/host/read.ts';
import { INSTANCE_CHARTS, HOST_CHARTS } from '../../charts/catalog.ts';
import { chartData, chartDefinition } from '../../src/protocol/writer.ts';
import { parseProtocol } from '../helpers/protocol.ts';
import { FIXTURES, fixture } from '../helpers/fixtures.ts';

/** mulberry32: small, seeded. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'abc:_\r\n\t #[]0123456789-.e+ \'"\\\u0000\u00e9\ud83d\ude00NaNInfinity';
const pick = <T>(r: () => number, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

function randomText(r: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += pick(r, [...ALPHABET]);
  return out;
}

function mutate(r: () => number, text: string): string {
  const chars = [...text];
  const edits = 1 + Math.floor(r() * 20);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * (chars.length + 1));
    const kind = r();
    if (kind < 0.3) chars.splice(at, 1 + Math.floor(r() * 8));
    else if (kind < 0.6) chars.splice(at, 0, ...randomText(r, 1 + Math.floor(r() * 8)));
    else if (kind < 0.8) chars.splice(at, 0, pick(r, ['99999999999999999999999', '-1', 'err', 'ok', '1e308', 'NaN', ':', '\n']));
    else chars.splice(at, Math.floor(r() * 200));
  }
  return chars.join('');
}

const INFOS = readdirSync(`${FIXTURES}info`).filter((f) => f.endsWith('.txt')).map((f) => fixture(`info/${f}`));
const HOST_ROOT = `${FIXTURES}host/redis-7.0-mode0`;
const PID = Number(readdirSync(`${HOST_ROOT}/proc`).find((d) => /^\d+$/.test(d)));
const kernel = readKernelFacts(new HostFs(HOST_ROOT));
const proc = readProcessFacts(new HostFs(HOST_ROOT), PID, undefined)!;
const definitions = [...INSTANCE_CHARTS.map((c) => chartDefinition('redis_fork_f', c, 1, 'redis')), ...HOST_CHARTS.map((c) => chartDefinition('redis_fork_host', c, 1, 'host'))].join('');

/** `Key: value` lines split one by one; the first line of each key counts. */
function firstLines(text: string): Map<string, string> {
  const first = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !first.has(line.slice(0, colon))) first.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return first;
}

function kbLine(first: Map<string, string>, key: string): number | undefined {
  const match = /^(-?\d+)(?:\s+(kB))?$/.exec(first.get(key)?.trim() ?? 'none');
  return match ? Number(match[1]) * (match[2] === 'kB' ? 1024 : 1) : undefined;
}

/** The reference for pickMeminfo. */
function meminfoLineByLine(text: string): ReturnType<typeof pickMeminfo> {
  const first = firstLines(text);
  return {
    memTotal: kbLine(first, 'MemTotal'), memFree: kbLine(first, 'MemFree'), cached: kbLine(first, 'Cached'), sReclaimable: kbLine(first, 'SReclaimable'),
    buffers: kbLine(first, 'Buffers'), swapCached: kbLine(first, 'SwapCached'), shmem: kbLine(first, 'Shmem'), kReclaimable: kbLine(first, 'KReclaimable'),
    swapTotal: kbLine(first, 'SwapTotal'), swapFree: kbLine(first, 'SwapFree'), commitLimit: kbLine(first, 'CommitLimit'), committedAs: kbLine(first, 'Committed_AS'),
  };
}

/** The reference for parseProcessStatus. */
function statusLineByLine(text: string): ReturnType<typeof parseProcessStatus> {
  const first = firstLines(text);
  const kb = (key: string) => kbLine(first, key);
  const thp = kb('THP_enabled');
  const uid = /^\s*\d+\s+(\d+)/.exec(first.get('Uid') ?? '');
  const nsPid = /^\s*([\d\s]+)$/.exec(first.get('NSpid') ?? '');
  const ppid = /^\s*(\d+)/.exec(first.get('PPid') ?? '');
  return {
    name: first.get('Name')?.trim() || undefined,
    vmRss: kb('VmRSS'),
    vmData: kb('VmData'),
    vmStk: kb('VmStk'),
    vmSize: kb('VmSize'),
    thpEnabled: thp === undefined ? undefined : thp !== 0,
    effectiveUid: uid ? Number(uid[1]) : undefined,
    nsPids: nsPid?.[1] ? nsPid[1].trim().split(/\s+/).map(Number).filter(Number.isInteger) : [],
    parentPid: ppid ? Number(ppid[1]) : undefined,
  };
}

describe('fuzz', () => {
  it('INFO: random and mutated replies never throw and always chart valid protocol', () => {
    const r = rng(20261124);
    for (let i = 0; i < 1500; i++) {
      const text = i % 3 === 0 ? randomText(r, Math.floor(r() * 2000)) : mutate(r, pick(r, INFOS));
      const info = parseRedisInfo(text);
      const snapshot = { state: 'up' as const, info, config: { save: mutate(r, '3600 1'), 'stop-writes-on-bgsave-error': 'yes' }, kernel, process: proc };
      const values = instanceValues(snapshot);
      let out = definitions;
      for (const chart of INSTANCE_CHARTS) out += chartData('redis_fork_f', chart, values.get(chart.id) ?? {});
      const parsed = parseProtocol(out);
      assert.deepEqual(parsed.problems, [], `input #${i}: ${JSON.stringify(text.slice(0, 200))}`);
      formatDiagnoses([diagnose({ job: 'f', snapshot, locality: 'local' })]);
    }
  });

  it('INFO: picking the read fields finds what the full parse finds, on real, mutated and random replies', () => {
    const r = rng(20261125);
    const inputs = [...INFOS, ...INFOS.map((t) => t.replace(/\r\n/g, '\n'))];
    for (let i = 0; i < 1500; i++) inputs.push(i % 3 === 0 ? randomText(r, Math.floor(r() * 2000)) : mutate(r, pick(r, INFOS)));
    for (const [i, text] of inputs.entries()) {
      const all = parseInfoFields(text);
      const expected = [...all].filter(([key]) => INFO_FIELDS.has(key));
      assert.deepEqual([...parseInfoFields(text, INFO_FIELDS)].sort(), expected.sort(), `input #${i}: ${JSON.stringify(text.slice(0, 200))}`);
    }
    assert.ok(Math.max(...INFOS.map((t) => parseInfoFields(t, INFO_FIELDS).size)) >= 25, 'a real reply gives most of the fields');
  });

  it('/proc/PID/status: the one-scan parse reads what a line-by-line parse reads, on every process here, mutated and random files', () => {
    const r = rng(20261130);
    const real: string[] = [fixture(`host/redis-7.0-mode0/proc/${PID}/status`)];
    // This machine's own processes: kernel threads (no Vm lines), ours, containers' (several NSpid values).
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        real.push(readFileSync(`/proc/${pid}/status`, 'latin1'));
      } catch {
        // ended meanwhile
      }
    }
    assert.ok(real.length > 10);
    // This machine's kernel (6.x) writes every wanted line: the one-call way is the one taken for user processes.
    assert.ok(STATUS_IN_ORDER.test(readFileSync('/proc/self/status', 'latin1')), 'the in-order fast path matches a real status file');
    assert.ok(real.some((text) => !STATUS_IN_ORDER.test(text)), 'and kernel threads (no Vm lines) go line by line');
    // Two files back to back: every key twice, the first must win.
    const inputs = [...real, ...real.slice(1, 20).map((text, i) => `${text}\n${real[i]!}`)];
    for (let i = 0; i < 1500; i++) inputs.push(i % 4 === 0 ? randomText(r, Math.floor(r() * 1500)) : mutate(r, pick(r, real)));
    for (const [i, text] of inputs.entries()) {
      assert.deepEqual(parseProcessStatus(text), statusLineByLine(text), `input #${i}: ${JSON.stringify(text.slice(0, 300))}`);
    }
  });

  it('/proc/meminfo: the one-scan pick reads what a line-by-line parse reads, on this machine\'s, the captured, doubled, mutated and random files', () => {
    const r = rng(20261201);
    const real = [fixture('host/redis-7.0-mode0/proc/meminfo'), readFileSync('/proc/meminfo', 'latin1')];
    assert.ok(MEMINFO_IN_ORDER.test(real[1]!) && MEMINFO_IN_ORDER.test(real[0]!), 'the in-order fast path matches the real files');
    const inputs = [...real, `${real[1]}\n${real[0]}`, real[0]!.replace(/\n/g, '\r\n')];
    // A key again before its place, or a line out of order: the line-by-line way, the same answer.
    inputs.push(real[1]!.replace('Buffers:', 'Cached:         1 kB\nBuffers:'), real[1]!.replace(/^(MemFree:.*\n)([\s\S]*?)(SwapTotal:.*\n)/m, '$3$2$1'));
    for (let i = 0; i < 1500; i++) inputs.push(i % 4 === 0 ? randomText(r, Math.floor(r() * 1500)) : mutate(r, pick(r, real)));
    for (const [i, text] of inputs.entries()) {
      assert.deepEqual(pickMeminfo(text), meminfoLineByLine(text), `input #${i}: ${JSON.stringify(text.slice(0, 300))}`);
    }
  });

  it('procfs and sysfs parsers: random and mutated files never throw', () => {
    const r = rng(42);
    const samples = [
      fixture('host/redis-7.0-mode0/proc/meminfo'),
      fixture(`host/redis-7.0-mode0/proc/${PID}/status`),
      fixture(`host/redis-7.0-mode0/proc/${PID}/smaps`).slice(0, 20_000),
      fixture(`host/redis-7.0-mode0/proc/${PID}/cgroup`),
      fixture(`host/redis-7.0-mode0/proc/${PID}/stat`),
      fixture('host/redis-7.0-mode0/proc/vmstat').slice(0, 5000),
      fixture('host/redis-7.0-mode0/sys/kernel/mm/transparent_hugepage/enabled'),
    ];
    for (let i = 0; i < 1500; i++) {
      const text = i % 4 === 0 ? randomText(r, Math.floor(r() * 1000)) : mutate(r, pick(r, samples));
      parseKeyValueKb(text);
      parseSpaceSeparated(text);
      parseProcessStatus(text);
      parseSmaps(text);
      parseProcCgroup(text);
      parseCgroupLimit(text);
      parseStatStartTicks(text);
      parseUptime(text);
      parseBracketChoice(text);
      parseKernelRelease(text);
      const fuzzedKernel = { ...kernel, ...Object.fromEntries([...parseKeyValueKb(text)].slice(0, 3).map(([k, v]) => [k === 'MemTotal' ? 'memTotal' : k, v])) };
      const values = hostValues(fuzzedKernel);
      let out = '';
      for (const chart of HOST_CHARTS) out += chartData('redis_fork_host', chart, values.get(chart.id) ?? {});
      assert.deepEqual(parseProtocol(definitions + out).problems, []);
    }
  });
});
