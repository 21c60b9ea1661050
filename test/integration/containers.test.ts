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
import { runPlugin } from '../helpers/plugin.ts';
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
});
