import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { RespProtocolError, RespReader, ReplyError, encodeCommand, encodeCommands, type RespValue } from '../../src/redis/resp.ts';
import { RespConnection, backoffMs } from '../../src/redis/connection.ts';
import { parseRedisUrl } from '../../src/config/url.ts';
import { parseConfigText } from '../../src/config/load.ts';

function readAll(reader: RespReader): RespValue[] {
  const out: RespValue[] = [];
  for (let r = reader.next(); r; r = reader.next()) out.push(r.value);
  return out;
}

describe('RESP2 replies', () => {
  const wire = '+OK\r\n-NOAUTH Authentication required.\r\n:42\r\n$-1\r\n$8\r\nrss:é\r\n\r\n*2\r\n$4\r\nsave\r\n$0\r\n\r\n*0\r\n*-1\r\n:-7\r\n';
  const expected = (values: RespValue[]) => {
    assert.equal(values.length, 9);
    assert.equal(values[0], 'OK');
    assert.ok(values[1] instanceof ReplyError);
    assert.equal((values[1] as ReplyError).message, 'NOAUTH Authentication required.');
    assert.deepEqual(values.slice(2), [42, null, 'rss:é\r\n', ['save', ''], [], null, -7]);
  };

  it('reads every type, a bulk string with CRLF and UTF-8 inside it included', () => {
    const reader = new RespReader();
    reader.append(Buffer.from(wire));
    expected(readAll(reader));
    assert.equal(reader.next(), undefined);
  });

  it('gives the same replies whatever the chunks, one byte at a time included', () => {
    const bytes = Buffer.from(wire);
    for (const size of [1, 2, 3, 7, 64]) {
      const reader = new RespReader();
      const values: RespValue[] = [];
      for (let i = 0; i < bytes.length; i += size) {
        // Half through append, half read straight into space() as the socket does.
        const chunk = bytes.subarray(i, i + size);
        if ((i / size) % 2) reader.append(chunk);
        else {
          chunk.copy(reader.space());
          reader.commit(chunk.length);
        }
        values.push(...readAll(reader));
      }
      expected(values);
    }
  });

  it('holds a reply larger than its buffer', () => {
    const big = 'x'.repeat(200_000);
    const reader = new RespReader();
    reader.append(Buffer.from(`$${big.length}\r\n${big}\r\n:1\r\n`));
    assert.deepEqual(readAll(reader), [big, 1]);
  });

  it('refuses bytes that are not RESP2', () => {
    const reader = new RespReader();
    reader.append(Buffer.from('HTTP/1.1 400 Bad Request\r\n'));
    assert.throws(() => reader.next(), RespProtocolError);
    for (const wire of ['$abc\r\n', '$\r\n', '*-2\r\n', ':12x\r\n', '$3\rx']) {
      const bad = new RespReader();
      bad.append(Buffer.from(wire));
      assert.throws(() => bad.next(), RespProtocolError, JSON.stringify(wire));
    }
  });

  it('encodes commands as arrays of bulk strings, lengths in bytes', () => {
    assert.equal(encodeCommand(['INFO', 'memory']), '*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n');
    assert.equal(encodeCommand(['AUTH', 'pässword']), '*2\r\n$4\r\nAUTH\r\n$9\r\npässword\r\n');
  });
});

/** A tiny server speaking just enough RESP: what it is sent, it records; it answers as told. */
async function fakeRedis(answer: (command: string, socket: Socket) => string | undefined): Promise<{ server: Server; url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((socket) => {
    socket.on('data', (data) => {
      for (const command of data.toString().split(/\*\d+\r\n/).filter(Boolean)) {
        const words = command.split('\r\n').filter((_, i) => i % 2 === 1).join(' ');
        received.push(words);
        const reply = answer(words, socket);
        if (reply !== undefined) socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, url: `redis://127.0.0.1:${address.port}`, received };
}

function jobFor(url: string, timeoutMs = 500) {
  return parseConfigText(JSON.stringify({ jobs: [{ name: 'x', url, timeout_ms: timeoutMs }] }), 'test').jobs[0]!;
}

describe('RespConnection on a real socket', () => {
  it('greets with AUTH and SELECT, then answers a pipeline in order', async () => {
    const { server, url, received } = await fakeRedis((command) => (command.startsWith('CONFIG') ? '*2\r\n$4\r\nsave\r\n$0\r\n\r\n' : command.startsWith('INFO') ? '$6\r\nok:1\r\n\r\n' : '+OK\r\n'));
    const connection = new RespConnection(jobFor(url.replace('redis://', 'redis://bob:pw@') + '/3'), 30_000);
    let connects = 0;
    connection.onConnect = () => connects++;
    try {
      const replies = await connection.exchange([['INFO', 'memory'], ['CONFIG', 'GET', 'save']]);
      assert.deepEqual(replies, ['ok:1\r\n', ['save', '']]);
      assert.deepEqual(received, ['AUTH bob pw', 'SELECT 3', 'INFO memory', 'CONFIG GET save']);
      assert.equal(connects, 1);
    } finally {
      connection.close();
      server.close();
    }
  });

  it('commands larger than the socket takes at once arrive whole and in order', async () => {
    const big = 'é'.repeat(3_000_000) + 'end';
    const expected = Buffer.from(encodeCommands([['ECHO', big], ['PING']]).text);
    const chunks: Buffer[] = [];
    let got = 0;
    const server = createServer((socket) => {
      // Not read for a while: the client's send buffer fills and the rest waits in the stream.
      socket.pause();
      setTimeout(() => socket.resume(), 200);
      socket.on('data', (data) => {
        chunks.push(data);
        got += data.length;
        if (got === expected.length) socket.write('+OK\r\n+PONG\r\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const connection = new RespConnection(jobFor(`redis://127.0.0.1:${address.port}`), 30_000);
    try {
      assert.deepEqual(await connection.exchange([['ECHO', big], ['PING']]), ['OK', 'PONG']);
      assert.ok(Buffer.concat(chunks).equals(expected), 'the bytes Redis got are the commands, in order');
    } finally {
      connection.close();
      server.close();
    }
  });

  it('a refused AUTH fails the exchange with the reply, and the next try waits out the back-off', async () => {
    let now = 1_000;
    const { server, url, received } = await fakeRedis(() => '-WRONGPASS invalid username-password pair\r\n');
    const connection = new RespConnection(jobFor(url.replace('redis://', 'redis://:pw@')), 30_000, () => now);
    try {
      await assert.rejects(connection.exchange([['INFO']]), (err: unknown) => err instanceof ReplyError && err.message.startsWith('WRONGPASS'));
      await new Promise((r) => setTimeout(r, 20));
      // Within the back-off nothing is sent: the last error again, at once.
      await assert.rejects(connection.exchange([['INFO']]), ReplyError);
      assert.deepEqual(received, ['AUTH pw']);
      now += backoffMs(1);
      await assert.rejects(connection.exchange([['INFO']]), ReplyError);
      assert.deepEqual(received, ['AUTH pw', 'AUTH pw']);
    } finally {
      connection.close();
      server.close();
    }
  });

  it('a connection that breaks fails what waits on it, and the next use connects again', async () => {
    let now = 1_000;
    let drop = true;
    const { server, url } = await fakeRedis((_command, socket) => {
      if (drop) {
        drop = false;
        socket.destroy();
        return undefined;
      }
      return '+PONG\r\n';
    });
    const connection = new RespConnection(jobFor(url), 30_000, () => now);
    try {
      await assert.rejects(connection.exchange([['PING']]), (err: unknown) => err instanceof Error && !(err instanceof ReplyError));
      now += backoffMs(1);
      assert.deepEqual(await connection.exchange([['PING']]), ['PONG']);
    } finally {
      connection.close();
      server.close();
    }
  });

  it('a TLS handshake that never ends fails with ETIMEDOUT after the job timeout', async () => {
    const { server, url } = await fakeRedis(() => undefined);
    const connection = new RespConnection(jobFor(url.replace('redis://', 'rediss://'), 200), 30_000);
    const t0 = performance.now();
    try {
      await assert.rejects(connection.exchange([['PING']]), (err: unknown) => (err as NodeJS.ErrnoException).code === 'ETIMEDOUT');
      const took = performance.now() - t0;
      assert.ok(took >= 190 && took < 2_000, `${took} ms`);
    } finally {
      connection.close();
      server.close();
    }
  });

  it('a server that owes a reply and stays silent is dropped once it is overdue, not before', async () => {
    let now = 1_000;
    const { server, url } = await fakeRedis((command) => (command === 'PING' ? '+PONG\r\n' : undefined));
    const connection = new RespConnection(jobFor(url), 30_000, () => now);
    try {
      assert.deepEqual(await connection.exchange([['PING']]), ['PONG']);
      const owed = connection.exchange([['INFO']]);
      now += 29_999;
      connection.dropIfSilent();
      assert.equal(connection.open, true, 'not overdue yet');
      now += 1;
      connection.dropIfSilent();
      await assert.rejects(owed, (err: unknown) => err instanceof Error && /no reply in 30000 ms/.test(err.message));
      assert.equal(connection.open, false);
    } finally {
      connection.close();
      server.close();
    }
  });
});
