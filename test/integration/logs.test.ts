/**
 * Logs as Netdata 2.x keeps them (SPEC §12): the built plugin, run with the environment Netdata
 * 2.11 gives its plugins, writes logfmt (or Netdata's JSON) on stderr at the level asked, one line
 * per event, no secret; run by hand into a pipe, pino's JSON as before.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runPlugin } from '../helpers/plugin.ts';
import { freePort } from '../helpers/redis-server.ts';

const NETDATA_2_ENV = { NETDATA_LOG_METHOD: 'stderr', NETDATA_LOG_FORMAT: 'logfmt', NETDATA_LOG_LEVEL: 'info', NETDATA_SYSLOG_FACILITY: 'daemon', NETDATA_VERSION: 'v2.11.0' };
const SECRET = 'hunter2-log-secret';

describe('logs in Netdata\'s formats', () => {
  it('writes logfmt under Netdata 2.x, with our fields and without the password', async () => {
    const url = `redis://:${SECRET}@127.0.0.1:${await freePort()}`;
    const run = await runPlugin(['--once', '--url', url], { env: NETDATA_2_ENV });
    const lines = run.stderr.trim().split('\n');
    assert.ok(lines.length > 0);
    for (const line of lines) assert.match(line, /^time=\d{4}-\d\d-\d\dT[\d:.]+Z comm=redisfork\.plugin source=collector level=(debug|info|warning|error|critical) .*msg=/);
    const down = lines.find((l) => / level=error /.test(l));
    assert.match(down ?? '', / code=ERR_REDIS_UNREACHABLE /);
    assert.match(down ?? '', / job=\S+ /);
    assert.doesNotMatch(run.stderr, new RegExp(SECRET));
  });

  it('follows NETDATA_LOG_LEVEL and NETDATA_LOG_FORMAT=json, and keeps pino\'s JSON by hand', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const quiet = await runPlugin(['--once', '--url', url], { env: { ...NETDATA_2_ENV, NETDATA_LOG_LEVEL: 'error' } });
    assert.ok(quiet.stderr.trim().split('\n').every((l) => / level=error /.test(l)), quiet.stderr);
    const json = await runPlugin(['--once', '--url', url], { env: { ...NETDATA_2_ENV, NETDATA_LOG_FORMAT: 'json' } });
    const record = JSON.parse(json.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(record.comm, 'redisfork.plugin');
    assert.equal(record.source, 'collector');
    assert.equal(typeof record.level, 'string');
    const byHand = await runPlugin(['--once', '--url', url], { env: { NETDATA_LOG_FORMAT: '', NETDATA_LOG_METHOD: '' } });
    assert.equal(typeof (JSON.parse(byHand.stderr.trim().split('\n')[0]!) as { level: unknown }).level, 'number', 'pino JSON into a pipe');
    const logfmtByHand = await runPlugin(['--once', '--url', url, '--log-format', 'logfmt'], { env: { NETDATA_LOG_FORMAT: '' } });
    assert.match(logfmtByHand.stderr, /^time=/);
  });
});
