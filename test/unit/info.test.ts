import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseInfoFields, parseRedisInfo, engineForks, versionMajorMinor } from '../../src/redis/info.ts';
import { fixture } from '../helpers/fixtures.ts';

describe('INFO parser', () => {
  it('reads a real Redis 7.0.15 capture (taken after a BGSAVE here)', () => {
    const text = fixture('info/redis-7.0.15-sections.txt');
    const fields = parseInfoFields(text);
    const info = parseRedisInfo(text);
    assert.equal(info.engine, 'redis');
    assert.equal(info.version, '7.0.15');
    assert.equal(info.role, 'master');
    // The typed view agrees with the raw field for every fork-related number.
    assert.equal(info.latestForkUsec, Number(fields.get('latest_fork_usec')));
    assert.ok(info.latestForkUsec! > 0, 'the capture was taken after a real fork');
    assert.equal(info.rdbLastCowSize, Number(fields.get('rdb_last_cow_size')));
    assert.equal(info.usedMemoryRss, Number(fields.get('used_memory_rss')));
    assert.equal(info.totalForks, 1);
    assert.equal(info.rdbLastBgsaveOk, true);
    assert.equal(info.aofEnabled, false);
    assert.equal(info.loading, false);
    assert.equal(typeof info.processId, 'number');
  });

  it('reads Redis 2.8, which lacks COW fields and total_forks', () => {
    const info = parseRedisInfo(fixture('info/hand-redis-2.8.24.txt'));
    assert.equal(info.engine, 'redis');
    assert.deepEqual(versionMajorMinor(info.version), [2, 8]);
    assert.equal(info.rdbLastBgsaveOk, false);
    assert.equal(info.latestForkUsec, 612000);
    assert.equal(info.rdbLastCowSize, undefined);
    assert.equal(info.totalForks, undefined);
    assert.equal(info.currentCowSize, undefined);
  });

  it('reads Redis 6.2 with a child running and a failed AOF rewrite', () => {
    const info = parseRedisInfo(fixture('info/hand-redis-6.2.14.txt'));
    assert.equal(info.rdbBgsaveInProgress, true);
    assert.equal(info.currentCowSize, 1048576);
    assert.equal(info.aofLastRewriteOk, false);
    assert.equal(info.aofEnabled, true);
    assert.equal(info.totalSystemMemory, 8589934592);
  });

  it('recognises Valkey by valkey_version and reports its own version', () => {
    const info = parseRedisInfo(fixture('info/valkey-8.0.1-info-all.txt'));
    assert.equal(info.engine, 'valkey');
    assert.equal(info.version, '8.0.1');
  });

  it('recognises KeyDB by its extra fields', () => {
    const info = parseRedisInfo(fixture('info/keydb-6.3.4-info-all.txt'));
    assert.equal(info.engine, 'keydb');
    assert.equal(info.version, '6.3.4', 'KeyDB reports its version as redis_version');
    assert.equal(parseRedisInfo('executable:\r\nmvcc_depth:0\r\n').executable, undefined, 'an empty field is treated as missing');
  });

  it('recognises Dragonfly, which never forks', () => {
    const info = parseRedisInfo(fixture('info/hand-dragonfly-1.21.txt'));
    assert.equal(info.engine, 'dragonfly');
    assert.equal(info.version, 'df-v1.21.2');
    assert.equal(engineForks(info.engine), false);
    assert.equal(info.latestForkUsec, undefined);
  });

  it('reads Redis 8 like Redis 7', () => {
    const info = parseRedisInfo(fixture('info/hand-redis-8.2.1.txt'));
    assert.equal(info.engine, 'redis');
    assert.deepEqual(versionMajorMinor(info.version), [8, 2]);
  });

  it('reports loading', () => {
    const info = parseRedisInfo(fixture('info/hand-redis-7.0-loading.txt'));
    assert.equal(info.loading, true);
    assert.equal(info.usedMemory, undefined);
  });

  it('takes LF as well as CRLF, and skips headers, blank lines and junk', () => {
    const info = parseRedisInfo('# Stats\nlatest_fork_usec:12\n\nnonsense\n:novalue\ntotal_forks:abc\r\nused_memory:5\r\n');
    assert.equal(info.latestForkUsec, 12);
    assert.equal(info.totalForks, undefined, 'a non-number is undefined, not NaN');
    assert.equal(info.usedMemory, 5);
    assert.equal(info.engine, 'unknown');
  });

  it('keeps values that contain colons whole', () => {
    const fields = parseInfoFields('executable:/opt/a:b/redis-server\r\n');
    assert.equal(fields.get('executable'), '/opt/a:b/redis-server');
  });

  it('answers undefined for empty input', () => {
    const info = parseRedisInfo('');
    assert.equal(info.version, undefined);
    assert.equal(info.rdbLastBgsaveOk, undefined);
  });
});

describe('INFO_FIELDS, the fields the parser keeps', () => {
  it('is exactly what toRedisInfo and detectEngine read', async () => {
    const { INFO_FIELDS, toRedisInfo } = await import('../../src/redis/info.ts');
    const asked = new Set<string>();
    const recording = new Map<string, string>();
    const spy = { get: (k: string) => (asked.add(k), recording.get(k)), has: (k: string) => (asked.add(k), recording.has(k)) } as unknown as Map<string, string>;
    toRedisInfo(spy);
    // Engine detection reads some fields only when others are absent: ask again with each engine's marker set.
    for (const marker of ['dragonfly_version', 'valkey_version', 'mvcc_depth']) {
      recording.clear();
      recording.set(marker, '1');
      toRedisInfo(spy);
    }
    assert.deepEqual([...asked].filter((f) => !INFO_FIELDS.has(f)), [], 'read but dropped by the parser');
    assert.deepEqual([...INFO_FIELDS].filter((f) => !asked.has(f)), [], 'kept but never read');
  });
});
