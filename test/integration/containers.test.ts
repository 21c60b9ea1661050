/**
 * Redis in containers on this host, made for real from namespaces and cgroups (see
 * helpers/containers.ts): tied to its host process across PID namespaces, charted with its
 * container's limit, found with no config in its own network namespace, and told apart from a
 * twin that is PID 1 too.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerLab, containerSkipReason, type LabContainer } from '../helpers/containers.ts';
import { freePort } from '../helpers/redis-server.ts';
import { PLUGIN, RunningPlugin, runPlugin } from '../helpers/plugin.ts';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';

const MIB = 1024 * 1024;
const skip = containerSkipReason({ netns: true });
if (skip) console.log(`SKIP containers: ${skip}`);

describe('Redis in containers on this host', { skip }, () => {
  let lab: ContainerLab;
  let configDir: string;
  before(() => {
    lab = new ContainerLab('ct');
    configDir = mkdtempSync(join(tmpdir(), 'redisfork-ctconf-'));
  });
  after(async () => {
    await lab?.cleanup();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  const once = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const run = await runPlugin(['--once', ...args], { env, timeoutMs: 30_000 });
    assert.equal(run.code, 0, run.stderr);
    return { ...parseProtocol(run.stdout), stderr: run.stderr };
  };

  it('ties a PID-1 Redis in a memory cgroup to its host process, with the pod-level limit and the commit charge', async () => {
    lab.setParentLimit(300 * MIB);
    const container = await lab.start({ port: await freePort() });
    const out = await once(['--url', container.url]);
    const type = `redis_fork_${container.url.replace(/\W/g, '_').replace(/^redis___/, '')}`;
    const state = [...out.charts.values()].find((c) => c.id.endsWith('.state'));
    assert.ok(state, 'a state chart');
    const prefix = state.id.replace(/\.state$/, '');
    assert.equal(state.labels.locality, 'local', `labels ${JSON.stringify(state.labels)} (${type})`);
    assert.equal(state.labels.container_runtime, 'docker');
    assert.equal(state.labels.container_id, container.shortId);
    assert.equal(displayValue(out, `${prefix}.memory`, 'limit'), 300 * MIB, 'the limit on the parent cgroup applies');
    const needed = displayValue(out, `${prefix}.commit_charge`, 'needed');
    assert.ok(typeof needed === 'number' && needed > 0, `commit charge ${needed}`);
    assert.ok(out.charts.has(`${prefix}.oom_kills`), 'OOM chart for a local Redis');

    const doctor = await runPlugin(['doctor', '--url', container.url, '--json'], { timeoutMs: 30_000 });
    const report = JSON.parse(doctor.stdout) as { instances: { pid?: number; locality: string; container?: string; findings: { check: string; summary: string }[] }[] };
    const instance = report.instances[0]!;
    assert.equal(instance.locality, 'local');
    assert.equal(instance.pid, container.hostPid, 'the host pid, not INFO process_id 1');
    assert.match(instance.container ?? '', new RegExp(container.shortId));
    const note = instance.findings.find((f) => f.check === 'container');
    assert.match(note?.summary ?? '', /those of the host/);
    assert.ok(instance.findings.some((f) => f.check === 'save_fit'), 'the doctor says whether the next save fits');
  });

  it('tells apart two containers whose Redis are both PID 1, started in the same second', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const [a, b] = await Promise.all([lab.start({ port: portA }), lab.start({ port: portB })]) as [LabContainer, LabContainer];
    const file = join(configDir, 'twins.conf');
    writeFileSync(file, `jobs:\n  - name: twin_a\n    url: ${a.url}\n  - name: twin_b\n    url: ${b.url}\n`);
    const doctor = await runPlugin(['doctor', '--config', file, '--json'], { timeoutMs: 30_000 });
    const report = JSON.parse(doctor.stdout) as { instances: { job: string; pid?: number }[] };
    const pids = Object.fromEntries(report.instances.map((i) => [i.job, i.pid]));
    assert.deepEqual(pids, { twin_a: a.hostPid, twin_b: b.hostPid });
    const out = await once(['--config', file]);
    assert.equal(out.charts.get('redis_fork_twin_a.state')?.labels.container_id, a.shortId);
    assert.equal(out.charts.get('redis_fork_twin_b.state')?.labels.container_id, b.shortId);
  });

  it('finds a Redis in its own network namespace with no config file, and charts it under its own job', async () => {
    const container = await lab.start({ port: await freePort(), netns: true });
    const empty = mkdtempSync(join(tmpdir(), 'redisfork-noconf-'));
    try {
      const out = await once([], { NETDATA_USER_CONFIG_DIR: empty, NETDATA_STOCK_CONFIG_DIR: empty });
      const job = `redis_fork_${container.shortId}_${container.port}`;
      const state = out.charts.get(`${job}.state`);
      assert.ok(state, `a job for the container; charts: ${[...out.charts.keys()].filter((k) => k.endsWith('.state')).join(', ')}\n${out.stderr}`);
      assert.equal(displayValue(out, `${job}.state`, 'up'), 1);
      assert.equal(state.labels.locality, 'local');
      assert.equal(state.labels.container_id, container.shortId);
      assert.match(out.stderr, new RegExp(`redis://${container.host.replace(/\./g, '\\.')}:${container.port}`), 'reached at its namespace\'s address');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('charts a container whose Redis needs a password as auth_failed, and names it once in the log with the job to add', async () => {
    const container = await lab.start({ port: await freePort(), args: ['--requirepass', 'not-for-the-log-7f3a'] });
    const empty = mkdtempSync(join(tmpdir(), 'redisfork-noconf-'));
    try {
      const out = await once([], { NETDATA_USER_CONFIG_DIR: empty, NETDATA_STOCK_CONFIG_DIR: empty });
      const job = `redis_fork_${container.shortId}_${container.port}`;
      assert.equal(displayValue(out, `${job}.state`, 'auth_failed'), 1, out.stderr);
      const lines = out.stderr.split('\n').filter((l) => l.includes('needs a password') && l.includes(container.shortId));
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, new RegExp(`process ${container.hostPid} in docker container ${container.shortId}`));
      assert.match(lines[0]!, /password_file/);
      assert.doesNotMatch(out.stderr, /not-for-the-log-7f3a/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
      await container.stop();
    }
  });

  it('in Netdata mode, charts a container that appears and marks the charts of one that goes obsolete', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'redisfork-noconf-'));
    const first = await lab.start({ port: await freePort() });
    const plugin = new RunningPlugin(['1'], { NETDATA_USER_CONFIG_DIR: empty, NETDATA_STOCK_CONFIG_DIR: empty, REDISFORK_REDISCOVER_SECONDS: '2' });
    try {
      const firstType = `redis_fork_${first.shortId}_${first.port}`;
      await plugin.waitForStdout((out) => out.includes(`BEGIN ${firstType}.state`));
      const second = await lab.start({ port: await freePort() });
      const secondType = `redis_fork_${second.shortId}_${second.port}`;
      await plugin.waitForStdout((out) => out.includes(`BEGIN ${secondType}.state`), 20_000);
      await first.stop();
      await plugin.waitForStdout((out) => new RegExp(`CHART ${firstType}\\.state .*'obsolete'`).test(out), 20_000);
      const obsoleteAt = plugin.stdout.lastIndexOf(`CHART ${firstType}.state`);
      // Two more iterations: the gone server gets no data after its charts went obsolete.
      await plugin.waitForStdout((out) => out.slice(obsoleteAt).split(`BEGIN ${secondType}.state`).length > 2, 5000);
      assert.ok(!plugin.stdout.slice(obsoleteAt).includes(`BEGIN ${firstType}.`), 'no data for the gone server after obsolete');
      assert.ok(plugin.stdout.lastIndexOf(`BEGIN ${secondType}.state`) > plugin.stdout.lastIndexOf(`CHART ${firstType}.state`), 'the other keeps going');
    } finally {
      await plugin.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('with NETDATA_HOST_PREFIX (Netdata in a container with the host\'s /proc and /sys): the same result; without the host\'s /proc, the doctor says what to add', async () => {
    const container = await lab.start({ port: await freePort() });
    const prefix = mkdtempSync(join(tmpdir(), 'redisfork-hostprefix-'));
    mkdirSync(join(prefix, 'proc'));
    mkdirSync(join(prefix, 'sys'));
    try {
      // A private mount namespace: the binds vanish with it. The plugin runs in a PID namespace of
      // its own, as in a container, and sees the host only under the prefix.
      const inside = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
        `mount --rbind /proc ${prefix}/proc && mount --rbind /sys ${prefix}/sys && exec unshare --pid --fork --kill-child --mount-proc env NETDATA_HOST_PREFIX=${prefix} ${PLUGIN} doctor --json --url ${container.url}`,
      ], { encoding: 'utf8', timeout: 30_000 });
      assert.ok(inside.stdout.startsWith('{'), inside.stderr);
      const seen = (JSON.parse(inside.stdout) as { instances: { pid?: number; locality: string }[] }).instances[0];
      assert.equal(seen?.locality, 'local', inside.stderr);
      assert.equal(seen?.pid, container.hostPid, 'the host pid, read under the prefix');

      const hidden = await runPlugin(['doctor', '--json', '--url', container.url], { env: { NETDATA_HOST_PREFIX: prefix }, timeoutMs: 30_000 });
      const report = JSON.parse(hidden.stdout) as { instances: { locality: string; findings: { check: string; summary: string; remedy: string[] }[] }[] };
      assert.equal(report.instances[0]?.locality, 'remote');
      const commit = report.instances[0]?.findings.find((f) => f.check === 'fork_commit');
      assert.match(commit?.summary ?? '', /host PID namespace/);
      assert.match((commit?.remedy ?? []).join('\n'), /--pid=host[\s\S]*hostPID: true/);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
      await container.stop();
    }
  });
});
