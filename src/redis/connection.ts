/**
 * One socket to one Redis, as a monitor wants it: connected on first use, AUTH and SELECT as a
 * handshake, commands written in one go and answered in order, nothing queued while down, and
 * reconnection with back-off on the next use rather than in the background.
 *
 * Plain TCP and unix sockets read straight into the reply buffer (net's `onread`): the stream
 * machinery of a Readable costs more CPU per collection than the whole RESP parse. `node:tls` is
 * loaded only for a `rediss://` job: loading it (and OpenSSL with it) costs 2 MiB of RSS.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { JobConfig } from '../config/types.ts';
import { RespReader, encodeCommands, type EncodedCommands, type RespValue, ReplyError } from './resp.ts';

export const MAX_BACKOFF_MS = 30_000;

/** Waits after the n-th failed attempt in a row: 0.5 s, 1 s, 2 s … 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(250 * 2 ** Math.min(attempt, 10), MAX_BACKOFF_MS);
}

interface Exchange {
  sentAt: number;
  expected: number;
  replies: RespValue[];
  resolve: (replies: RespValue[]) => void;
  reject: (err: Error) => void;
}

export class RespConnection {
  private socket: Socket | undefined;
  private connecting: Promise<void> | undefined;
  private readonly reader = new RespReader();
  private readonly waiting: Exchange[] = [];
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  /** Why the last connection ended or could not be made (a socket error, a refused AUTH, silence). */
  lastError: Error | undefined;
  /** Called after each successful handshake. */
  onConnect: (() => void) | undefined;

  constructor(
    private readonly job: JobConfig,
    /** A connection that owes a reply this long is dropped by `dropIfSilent` (a peer gone without a RST). */
    private readonly stuckAfterMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get open(): boolean {
    return this.socket !== undefined && this.connecting === undefined;
  }

  /** This side of the TCP connection (its address and port as Redis sees them, unless NAT is in between); undefined for a unix socket or none. */
  get localEndpoint(): { address: string; port: number } | undefined {
    const socket = this.socket;
    if (socket === undefined || socket.localPort === undefined || socket.localAddress === undefined) return undefined;
    return { address: socket.localAddress, port: socket.localPort };
  }

  /**
   * Writes the commands at once and resolves with one reply each (an error reply as a ReplyError
   * value). Rejects when there is no connection and none can be made now, or when it breaks.
   */
  async exchange(commands: readonly (readonly string[])[] | EncodedCommands): Promise<RespValue[]> {
    if (!this.socket) this.startConnecting();
    if (this.connecting) await this.connecting;
    const socket = this.socket;
    if (!socket) throw this.lastError ?? new Error('Connection is closed.');
    return this.send(socket, commands);
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  /**
   * Drops the connection when the oldest reply it owes is overdue; the caller asks while it waits
   * (each iteration). No socket timeout: Node re-arms one on every read and write, which cost more
   * CPU per collection than parsing the reply.
   */
  dropIfSilent(now: number = this.clock()): void {
    const oldest = this.waiting[0];
    if (!oldest || !this.socket || now - oldest.sentAt < this.stuckAfterMs) return;
    this.lastError = new Error(`no reply in ${this.stuckAfterMs} ms; reconnecting`);
    this.socket.destroy();
  }

  private send(socket: Socket, commands: readonly (readonly string[])[] | EncodedCommands): Promise<RespValue[]> {
    const { count, text } = 'text' in commands ? commands : encodeCommands(commands);
    return new Promise<RespValue[]>((resolve, reject) => {
      this.waiting.push({ sentAt: this.clock(), expected: count, replies: [], resolve, reject });
      socket.write(text);
    });
  }

  private startConnecting(): void {
    if (this.connecting || this.closed) return;
    if (this.clock() < this.retryAt) return;
    this.connecting = this.connectAndGreet().finally(() => {
      this.connecting = undefined;
    });
  }

  private async connectAndGreet(): Promise<void> {
    this.lastError = undefined;
    const socket = this.newSocket(this.usesTls ? await import('node:tls') : undefined);
    this.socket = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          socket.destroy(Object.assign(new Error(`connect ETIMEDOUT (no connection in ${this.job.timeoutMs} ms)`), { code: 'ETIMEDOUT' }));
        }, this.job.timeoutMs);
        socket.once(this.usesTls ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('close', () => {
          clearTimeout(timer);
          reject(this.lastError ?? new Error('Connection is closed.'));
        });
      });
      const greeting = this.greeting();
      if (greeting.length) {
        const refused = (await this.send(socket, greeting)).find((reply) => reply instanceof ReplyError);
        if (refused) {
          this.lastError = refused as ReplyError;
          socket.destroy();
          throw refused;
        }
      }
      this.failures = 0;
      this.onConnect?.();
    } catch (err) {
      // The socket's close handler has counted the failure and set the back-off.
      if (this.socket === socket) this.socket = undefined;
      throw err;
    }
  }

  private greeting(): string[][] {
    const commands: string[][] = [];
    const { username, password, db } = this.job;
    if (password !== undefined) commands.push(username !== undefined ? ['AUTH', username, password] : ['AUTH', password]);
    if (db > 0) commands.push(['SELECT', String(db)]);
    return commands;
  }

  private get usesTls(): boolean {
    return this.job.target.kind === 'tcp' && this.job.target.tls;
  }

  private newSocket(tlsModule: typeof import('node:tls') | undefined): Socket {
    const { target } = this.job;
    let socket: Socket;
    if (target.kind === 'tcp' && tlsModule) {
      const tls = this.job.tls ?? { insecureSkipVerify: false };
      socket = tlsModule.connect({
        host: target.host,
        port: target.port,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        servername: tls.serverName ?? target.host,
        rejectUnauthorized: !tls.insecureSkipVerify,
      });
      socket.on('data', (chunk: Buffer) => {
        this.reader.append(chunk);
        this.takeReplies(socket);
      });
    } else {
      const onread = {
        buffer: () => this.reader.space(),
        callback: (bytes: number) => {
          this.reader.commit(bytes);
          this.takeReplies(socket);
          return true;
        },
      };
      socket = target.kind === 'unix' ? netConnect({ path: target.path, onread }) : netConnect({ host: target.host, port: target.port, onread });
    }
    socket.setNoDelay(true);
    socket.on('error', (err: Error) => {
      this.lastError = err;
    });
    socket.on('close', () => this.closedSocket(socket));
    return socket;
  }

  private takeReplies(socket: Socket): void {
    try {
      for (let reply = this.reader.next(); reply; reply = this.reader.next()) {
        const exchange = this.waiting[0];
        if (!exchange) throw new Error('Redis sent a reply that nothing asked for');
        exchange.replies.push(reply.value);
        if (exchange.replies.length === exchange.expected) {
          this.waiting.shift();
          exchange.resolve(exchange.replies);
        }
      }
    } catch (err) {
      this.lastError = err as Error;
      socket.destroy();
    }
  }

  private closedSocket(socket: Socket): void {
    if (this.socket === socket) this.socket = undefined;
    this.reader.reset();
    const err = this.lastError ?? new Error('Connection is closed.');
    for (const exchange of this.waiting.splice(0)) exchange.reject(err);
    this.failures++;
    this.retryAt = this.clock() + backoffMs(this.failures);
  }
}
