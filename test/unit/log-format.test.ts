import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseLogTarget, logfmtValue, toLogfmt, toNetdataJson, toPretty } from '../../src/log-format.ts';

const record = { level: 50, time: Date.UTC(2026, 10, 25, 8, 35, 18, 435), plugin: 'redisfork', pid: 7, job: 'gone', code: 'ERR_REDIS_UNREACHABLE', url: 'redis://127.0.0.1:1', msg: 'Redis is not answering: connect ECONNREFUSED "x"' };

describe('log lines in Netdata\'s formats', () => {
  it('writes logfmt as Netdata\'s own plugins do: time, comm, source, level, our fields, msg last', () => {
    assert.equal(
      toLogfmt(record),
      'time=2026-11-25T08:35:18.435Z comm=redisfork.plugin source=collector level=error job=gone code=ERR_REDIS_UNREACHABLE url=redis://127.0.0.1:1 msg="Redis is not answering: connect ECONNREFUSED \\"x\\""',
    );
    assert.match(toLogfmt({ ...record, level: 40 }), / level=warning /);
    assert.match(toLogfmt({ ...record, level: 60 }), / level=critical /);
    assert.equal(logfmtValue('a b'), '"a b"');
    assert.equal(logfmtValue('line\nbreak'), '"line\\nbreak"', 'one line per event');
    assert.equal(logfmtValue({ message: 'x' }), '"{\\"message\\":\\"x\\"}"');
    assert.equal(logfmtValue(''), '""');
  });

  it('writes the same fields as JSON, and readable lines for a terminal', () => {
    assert.deepEqual(JSON.parse(toNetdataJson(record)), {
      time: '2026-11-25T08:35:18.435Z', comm: 'redisfork.plugin', source: 'collector', level: 'error',
      job: 'gone', code: 'ERR_REDIS_UNREACHABLE', url: 'redis://127.0.0.1:1', msg: record.msg,
    });
    assert.equal(toPretty(record), `2026-11-25 08:35:18 error    job=gone code=ERR_REDIS_UNREACHABLE url=redis://127.0.0.1:1  ${record.msg}`);
  });

  it('follows --log-format, then NETDATA_LOG_FORMAT, then the terminal', () => {
    assert.deepEqual(chooseLogTarget({ NETDATA_LOG_FORMAT: 'logfmt', NETDATA_LOG_METHOD: 'stderr' }, undefined, false), { format: 'logfmt', netdataJson: false, silent: false });
    assert.deepEqual(chooseLogTarget({ NETDATA_LOG_FORMAT: 'json' }, undefined, false), { format: 'json', netdataJson: true, silent: false });
    assert.deepEqual(chooseLogTarget({ NETDATA_LOG_FORMAT: 'logfmt' }, 'json', false), { format: 'json', netdataJson: false, silent: false });
    assert.deepEqual(chooseLogTarget({}, undefined, true), { format: 'pretty', netdataJson: false, silent: false });
    assert.deepEqual(chooseLogTarget({}, undefined, false), { format: 'json', netdataJson: false, silent: false });
    assert.equal(chooseLogTarget({ NETDATA_LOG_METHOD: 'journal', NETDATA_LOG_FORMAT: 'logfmt' }, undefined, false).format, 'logfmt', 'journal: served on stderr');
    assert.equal(chooseLogTarget({ NETDATA_LOG_METHOD: 'none' }, undefined, false).silent, true);
  });
});
