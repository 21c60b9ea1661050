/** TLS (rediss:// with a CA, a client certificate and a server name), unix sockets, ACL usernames. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedis, waitFor, type RedisServer } from '../helpers/redis-server.ts';
import { runPlugin } from '../helpers/plugin.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A throwaway CA, a server certificate for redis.test and a client certificate. */
function makeCerts(dir: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=redisfork test CA'], dir);
  for (const [name, cn] of [['server', 'redis.test'], ['client', 'netdata']] as const) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    writeFileSync(join(dir, `${name}.ext`), name === 'server' ? 'subjectAltName=DNS:redis.test\n' : 'extendedKeyUsage=clientAuth\n');
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  }
}

describe('TLS', () => {
  let dir: string;
  let tlsPort: number;
  let server: ChildProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-tls-'));
    makeCerts(dir);
    tlsPort = await freePort();
    server = spawn('redis-server', [
      '--port', '0', '--tls-port', String(tlsPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'),
      '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'yes', '--requirepass', 'tls-secret-pw',
    ], { stdio: 'ignore' });
    await waitFor(() => {
      try {
        execFileSync('redis-cli', ['--tls', '--cacert', join(dir, 'ca.crt'), '--cert', join(dir, 'client.crt'), '--key', join(dir, 'client.key'), '--sni', 'redis.test', '-p', String(tlsPort), '-a', 'tls-secret-pw', '--no-auth-warning', 'ping'], { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    }, 10_000, 'redis-server with TLS');
  });
  after(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('collects over rediss:// with a CA, a client certificate, a server name and a password file', async () => {
    const passFile = join(dir, 'pass');
    writeFileSync(passFile, 'tls-secret-pw\n');
    chmodSync(passFile, 0o600);
    const config = join(dir, 'redisfork.conf');
    writeFileSync(config, `jobs:
  - name: tls
    url: rediss://127.0.0.1:${tlsPort}
    password_file: ${passFile}
    tls:
      ca_file: ${join(dir, 'ca.crt')}
      cert_file: ${join(dir, 'client.crt')}
      key_file: ${join(dir, 'client.key')}
      server_name: redis.test
`);
    const result = await runPlugin(['--once', '--config', config]);
    const out = parseProtocol(result.stdout);
    assert.deepEqual(out.problems, []);
    assert.equal(displayValue(out, 'redis_fork_tls.state', 'up'), 1, result.stderr);
    assert.ok(!result.stderr.includes('tls-secret-pw'));
  });

  it('refuses a server whose certificate does not match the server name', async () => {
    const config = join(dir, 'wrong-name.conf');
    writeFileSync(config, `jobs:\n  - name: tls\n    url: rediss://127.0.0.1:${tlsPort}\n    password: tls-secret-pw\n    tls: { ca_file: ${join(dir, 'ca.crt')}, cert_file: ${join(dir, 'client.crt')}, key_file: ${join(dir, 'client.key')}, server_name: other.test }\n`);
    const result = await runPlugin(['--once', '--config', config]);
    const out = parseProtocol(result.stdout);
    assert.equal(displayValue(out, 'redis_fork_tls.state', 'down'), 1);
    assert.match(result.stderr, /other\.test|altnames|certificate/i);
  });
});

describe('unix socket and ACL username', () => {
  let redis: RedisServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-sock-'));
    redis = await startRedis({ args: ['--unixsocket', join(dir, 'redis.sock'), '--unixsocketperm', '700'] });
    await redis.client().call('ACL', 'SETUSER', 'watcher', 'on', '>watcherpw', '-@all', '+info', '+config|get');
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('collects over unix:// as a local Redis, with an ACL username', async () => {
    const config = join(dir, 'redisfork.conf');
    writeFileSync(config, `jobs:\n  - { name: sock, url: "unix://${join(dir, 'redis.sock')}", username: watcher, password_env: WATCHER_PW }\n`);
    const result = await runPlugin(['--once', '--config', config], { env: { WATCHER_PW: 'watcherpw' } });
    const out = parseProtocol(result.stdout);
    assert.deepEqual(out.problems, []);
    assert.equal(displayValue(out, 'redis_fork_sock.state', 'up'), 1, result.stderr);
    assert.equal(out.charts.get('redis_fork_sock.state')?.labels.locality, 'local');
    assert.ok(out.charts.has('redis_fork_sock.commit_charge'), 'kernel charts for a local Redis');
  });
});
