/**
 * The job's state machine with a fake connection and a chosen clock (the real-server tests in
 * test/integration cover the same against redis-server): up, loading, auth_failed, down; a bug of
 * ours while reading the host is not "Redis down"; a restart is noticed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { InstanceJob, type RedisLink } from '../../src/collector/job.ts';
import type { CollectResult } from '../../src/redis/client.ts';
import { RedisforkError } from '../../src/errors.ts';
import { HostFs } from '../../src/host/read.ts';
import { ProcessFactsCache } from '../../src/host/process-cache.ts';
import { parseRedisUrl } from '../../src/config/url.ts';
import type { JobConfig } from '../../src/config/types.ts';

const settings: JobConfig = {
  name: 'fake', displayUrl: 'redis://10.0.0.9:6379', target: parseRedisUrl('redis://10.0.0.9:6379').target,
  username: undefined, password: undefined, passwordSource: 'none', db: 0, tls: undefined, timeoutMs: 1000, pid: 'auto',
};

/** Answers each round from a script: INFO text, or an error to throw. */
class FakeLink implements RedisLink {
  rounds = 0;
  constructor(private readonly script: (round: number) => string | Error) {}
  async collect(withConfig: boolean): Promise<CollectResult> {
    const step = this.script(this.rounds++);
    if (step instanceof Error) throw step;
    return { infoText: step, withServer: true, ...(withConfig ? { config: { values: { save: '3600 1' } } } : {}) };
  }
  async fetchConfig(): Promise<CollectResult> {
    return { infoText: 'role:master\r\n', config: { values: { save: '3600 1' } } };
  }
  async close(): Promise<void> {}
}

function harness(script: (round: number) => string | Error, processes?: ProcessFactsCache) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done(); } });
  const logger = pino({ level: 'info' }, sink);
  const hostFs = new HostFs('/nonexistent-root');
  const job = new InstanceJob({ ...settings, pid: 4242 }, { hostFs, logger, connect: () => new FakeLink(script), ...(processes ? { processes } : {}) });
  return { job, lines };
}

const INFO = (uptime: number, extra = '') => `# Server\r\nredis_version:7.2.6\r\nprocess_id:4242\r\nuptime_in_seconds:${uptime}\r\ntcp_port:6379\r\n# Persistence\r\nloading:0\r\nrdb_last_bgsave_status:ok\r\n${extra}`;

describe('InstanceJob with a fake connection', () => {
  it('goes up, loading, auth_failed and down as Redis answers, logging each change once', async () => {
    const steps: (string | Error)[] = [
      INFO(10),
      new RedisforkError('ERR_REDIS_LOADING', 'LOADING Redis is loading the dataset in memory'),
      new RedisforkError('ERR_REDIS_AUTH', 'NOAUTH Authentication required'),
      new RedisforkError('ERR_REDIS_UNREACHABLE', 'connect ECONNREFUSED'),
      new RedisforkError('ERR_REDIS_UNREACHABLE', 'connect ECONNREFUSED'),
      INFO(14),
    ];
    const { job, lines } = harness((round) => steps[round]!);
    const states: string[] = [];
    for (let i = 0; i < steps.length; i++) states.push((await job.collect(undefined, 1_000_000 + i * 1000))!.state);
    assert.deepEqual(states, ['up', 'loading', 'auth_failed', 'down', 'down', 'up']);
    const errors = lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 2, 'auth_failed and down logged once each');
    assert.equal(errors[0]?.code, 'ERR_REDIS_AUTH');
    assert.match(String(errors[0]?.msg), /password_file/, 'says how to give it a password');
  });

  it('reports a bug while reading the host as an internal error, once, and keeps Redis up', async () => {
    const broken = new (class extends ProcessFactsCache {
      override get(): never {
        throw new TypeError("Cannot read properties of undefined (reading 'split')");
      }
    })(new HostFs('/nonexistent-root'));
    const { job, lines } = harness(() => INFO(10), broken);
    const first = await job.collect(undefined, 1_000_000);
    const second = await job.collect(undefined, 1_001_000);
    assert.equal(first?.state, 'up');
    assert.equal(second?.state, 'up');
    assert.equal(first?.info?.version, '7.2.6', 'what Redis said is kept');
    const internal = lines.filter((l) => l.code === 'ERR_INTERNAL');
    assert.equal(internal.length, 1, 'logged once');
    assert.match(String((internal[0]?.err as { stack?: string }).stack), /TypeError/);
    assert.equal(lines.some((l) => /not answering/.test(String(l.msg))), false, 'never "Redis is not answering"');
  });

  it('notices a restart (uptime went back) and keeps it in the snapshot for the OOM window', async () => {
    const uptimes = [500, 501, 3];
    const { job } = harness((round) => INFO(uptimes[round]!));
    await job.collect(undefined, 1_000_000);
    assert.equal((await job.collect(undefined, 1_001_000))?.restartedRecently, false);
    assert.equal((await job.collect(undefined, 1_002_000))?.restartedRecently, true);
    assert.equal(job.restartedAt, 1_002_000);
  });
});

describe('a collection that waits on a silent Redis', () => {
  it('sends nothing new while it waits, and asks the connection each iteration whether the reply is overdue', async () => {
    const asked: number[] = [];
    let collects = 0;
    const link: RedisLink = {
      collect: () => {
        collects++;
        return new Promise<CollectResult>(() => {});
      },
      fetchConfig: () => new Promise<CollectResult>(() => {}),
      dropIfSilent: (now) => asked.push(now),
      close: async () => {},
    };
    const logger = pino({ level: 'silent' });
    const job = new InstanceJob(settings, { hostFs: new HostFs('/nonexistent-root'), logger, connect: () => link });
    assert.ok(job.collect(undefined, 1_000_000));
    assert.equal(job.collect(undefined, 1_001_000), undefined);
    assert.equal(job.collect(undefined, 1_002_000), undefined);
    assert.equal(collects, 1);
    assert.deepEqual(asked, [1_001_000, 1_002_000]);
  });
});

describe('Collector with a fake connection and fake timers', () => {
  it('marks a Redis that has not answered by the deadline slow, sends it nothing more, and takes its answer when it comes', async (t) => {
    const { Collector } = await import('../../src/collector/runner.ts');
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let release: ((text: string) => void) | undefined;
    let calls = 0;
    const link: RedisLink = {
      collect: () => {
        calls++;
        return new Promise((resolve) => (release = (text) => resolve({ infoText: text, withServer: true })));
      },
      fetchConfig: async () => ({ infoText: '', config: { values: {} } }),
      close: async () => {},
    };
    const logger = pino({ level: 'silent' });
    const collector = new Collector(
      { updateEvery: 1, jobs: [settings], source: 'test', warnings: [] },
      { hostFs: new HostFs('/nonexistent-root'), logger, updateEvery: 1, once: false, connect: () => link },
    );
    const first = collector.iterate(1_000_000);
    t.mock.timers.tick(collector.deadlineMs());
    const text = await first;
    assert.match(text, /BEGIN redis_fork_fake\.state\nSET 'up' = 0\nSET 'loading' = 0\nSET 'slow' = 1/);
    const second = collector.iterate(1_001_000);
    t.mock.timers.tick(collector.deadlineMs());
    await second;
    assert.equal(calls, 1, 'nothing more is sent while the first request is unanswered');
    release?.(INFO(10));
    await new Promise((r) => setImmediate(r));
    const third = collector.iterate(1_002_000);
    const before = calls;
    release?.(INFO(12));
    await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(collector.deadlineMs());
    assert.match(await third, /SET 'up' = 1/);
    assert.equal(calls, before, 'one request per iteration once it answers');
    await collector.close();
  });

  /** A collector of one job at update_every 1 whose Redis never answers. */
  const silentRedisCollector = async (timeoutMs: number) => {
    const { Collector } = await import('../../src/collector/runner.ts');
    const link: RedisLink = {
      collect: () => new Promise(() => {}),
      fetchConfig: async () => ({ infoText: '', config: { values: {} } }),
      close: async () => {},
    };
    return new Collector(
      { updateEvery: 1, jobs: [{ ...settings, timeoutMs }], source: 'test', warnings: [] },
      { hostFs: new HostFs('/nonexistent-root'), logger: pino({ level: 'silent' }), updateEvery: 1, once: false, connect: () => link },
    );
  };

  it('given the next iteration, waits for a slow Redis until then, with no timer of its own when the timeout reaches that far', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const timers = t.mock.method(globalThis, 'setTimeout');
    const collector = await silentRedisCollector(1000);
    let nextIsDue: () => void = () => {};
    let settled = false;
    const iteration = collector.iterate(1_000_000, new Promise<void>((resolve) => (nextIsDue = resolve))).finally(() => (settled = true));
    t.mock.timers.tick(collector.deadlineMs() + 50);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'still waiting past the deadline of an iteration alone');
    assert.equal(timers.mock.callCount(), 0, 'no timer: the next iteration ends the wait');
    nextIsDue();
    assert.match(await iteration, /BEGIN redis_fork_fake\.state\nSET 'up' = 0\nSET 'loading' = 0\nSET 'slow' = 1/);
    await collector.close();
  });

  it('given the next iteration, still ends the wait at a job timeout that comes first', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const collector = await silentRedisCollector(300);
    const iteration = collector.iterate(1_000_000, new Promise<void>(() => {}));
    t.mock.timers.tick(400);
    assert.match(await iteration, /SET 'slow' = 1/);
    await collector.close();
  });

  it('defines the charts once, and again with the new label when the role changes', async () => {
    const { Collector } = await import('../../src/collector/runner.ts');
    const roles = ['master', 'master', 'slave', 'slave'];
    let round = 0;
    const link: RedisLink = {
      collect: async () => ({ infoText: `${INFO(10 + round)}role:${roles[round++]}\r\n`, withServer: true }),
      fetchConfig: async () => ({ infoText: '', config: { values: {} } }),
      close: async () => {},
    };
    const collector = new Collector(
      { updateEvery: 1, jobs: [settings], source: 'test', warnings: [] },
      { hostFs: new HostFs('/nonexistent-root'), logger: pino({ level: 'silent' }), updateEvery: 1, once: false, connect: () => link },
    );
    const texts: string[] = [];
    for (let i = 0; i < roles.length; i++) texts.push(await collector.iterate(1_000_000 + i * 1000));
    const roleLabels = texts.map((text) => [...text.matchAll(/^CLABEL 'role' '(\w+)'/gm)].map((m) => m[1]));
    // The first iteration defines the state chart before INFO is known; the second has the INFO charts.
    assert.equal(roleLabels[2]!.length > 0 && roleLabels[2]!.every((r) => r === 'slave'), true, JSON.stringify(roleLabels));
    assert.deepEqual(roleLabels[3], [], 'nothing defined again while the labels stay');
    assert.ok(roleLabels[1]!.length > 0 && roleLabels[1]!.every((r) => r === 'master'), JSON.stringify(roleLabels));
    assert.match(texts[3]!, /^BEGIN redis_fork_fake\.state 1000000$/m);
    await collector.close();
  });
});
