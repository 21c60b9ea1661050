/**
 * RESP2, the little of it a monitor needs: commands out as arrays of bulk strings, replies in as
 * they come. Pure: bytes in, values out. Error replies are values (`ReplyError`), not throws: in
 * a pipeline each command has its own answer.
 */
import redisErrors from 'redis-errors';

/** The class of error replies that ioredis and node-redis use too: one `instanceof` for all three. */
export const ReplyError = redisErrors.ReplyError;
export type ReplyError = InstanceType<typeof ReplyError>;

export type RespValue = string | number | null | ReplyError | RespValue[];

/** `INFO memory` -> `*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n`. */
export function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/** Commands encoded once, for a round sent every second. */
export interface EncodedCommands {
  count: number;
  text: string;
}

export function encodeCommands(commands: readonly (readonly string[])[]): EncodedCommands {
  let text = '';
  for (const command of commands) text += encodeCommand(command);
  return { count: commands.length, text };
}

/** A reply that does not follow RESP: the connection cannot be trusted any more. */
export class RespProtocolError extends Error {
  readonly code = 'ERR_RESP_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'RespProtocolError';
  }
}

const INCOMPLETE = Symbol('incomplete');
const CR = 13;
const MIN_FREE = 16 * 1024;

/**
 * Collects the bytes of a connection in one buffer and takes complete replies off its front. The
 * socket may read straight into `space()` (net's `onread`) or hand over chunks (`append`).
 */
export class RespReader {
  private buffer = Buffer.allocUnsafe(MIN_FREE * 2);
  private start = 0;
  private end = 0;
  private at = 0;

  /** Where the next bytes go: at least MIN_FREE bytes, after what is not parsed yet. */
  space(): Buffer {
    this.reserve(MIN_FREE);
    // Most replies are taken whole, leaving the buffer empty: then no new view is needed.
    if (this.end === 0) return this.buffer;
    return this.buffer.subarray(this.end);
  }

  /** `n` bytes were read into the last `space()`. */
  commit(n: number): void {
    this.end += n;
  }

  append(chunk: Uint8Array): void {
    this.reserve(chunk.length);
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Drops what was received and not parsed (the connection it came from is gone). */
  reset(): void {
    this.start = this.end = 0;
  }

  /** The next complete reply, or undefined until more bytes come. Throws RespProtocolError. */
  next(): { value: RespValue } | undefined {
    if (this.start === this.end) return undefined;
    this.at = this.start;
    const value = this.value();
    if (value === INCOMPLETE) return undefined;
    this.start = this.at;
    if (this.start === this.end) this.start = this.end = 0;
    return { value };
  }

  private reserve(bytes: number): void {
    if (this.buffer.length - this.end >= bytes) return;
    const pending = this.end - this.start;
    const target = this.buffer.length >= (pending + bytes) * 2 ? this.buffer : Buffer.allocUnsafe((pending + bytes) * 2);
    this.buffer.copy(target, 0, this.start, this.end);
    this.buffer = target;
    this.start = 0;
    this.end = pending;
  }

  /** The line from `at` to its CRLF (without it), or INCOMPLETE; `at` moves past the CRLF. */
  private line(): string | typeof INCOMPLETE {
    const cr = this.buffer.indexOf(CR, this.at);
    if (cr === -1 || cr + 1 >= this.end) return INCOMPLETE;
    const text = this.buffer.toString('latin1', this.at, cr);
    this.at = cr + 2;
    return text;
  }

  /**
   * The integer from `at` to its CRLF, read from the bytes (no string made: every reply starts with
   * one), or INCOMPLETE; `at` moves past the CRLF.
   */
  private integer(): number | typeof INCOMPLETE {
    const buffer = this.buffer;
    let i = this.at;
    const negative = i < this.end && buffer[i] === 0x2d; /* - */
    if (negative) i++;
    const first = i;
    let n = 0;
    for (; i < this.end; i++) {
      const byte = buffer[i]!;
      if (byte === CR) break;
      if (byte < 0x30 || byte > 0x39) throw new RespProtocolError(`bad number in a reply: ${JSON.stringify(buffer.toString('latin1', this.at, Math.min(this.end, this.at + 40)))}`);
      n = n * 10 + (byte - 0x30);
    }
    if (i + 1 >= this.end) return INCOMPLETE;
    if (i === first || buffer[i + 1] !== 0x0a) throw new RespProtocolError(`bad number in a reply: ${JSON.stringify(buffer.toString('latin1', this.at, i))}`);
    this.at = i + 2;
    return negative ? -n : n;
  }

  private length(): number | typeof INCOMPLETE {
    const n = this.integer();
    if (n !== INCOMPLETE && n < -1) throw new RespProtocolError(`bad length in a reply: ${n}`);
    return n;
  }

  private value(): RespValue | typeof INCOMPLETE {
    if (this.at >= this.end) return INCOMPLETE;
    const type = this.buffer[this.at++];
    switch (type) {
      case 0x2b /* + */: {
        return this.line();
      }
      case 0x2d /* - */: {
        const text = this.line();
        return text === INCOMPLETE ? text : new ReplyError(text);
      }
      case 0x3a /* : */: {
        return this.integer();
      }
      case 0x24 /* $ */: {
        const n = this.length();
        if (n === INCOMPLETE) return n;
        if (n === -1) return null;
        if (this.at + n + 2 > this.end) return INCOMPLETE;
        const body = this.buffer.toString('utf8', this.at, this.at + n);
        this.at += n + 2;
        return body;
      }
      case 0x2a /* * */: {
        const n = this.length();
        if (n === INCOMPLETE) return n;
        if (n === -1) return null;
        const items: RespValue[] = [];
        for (let i = 0; i < n; i++) {
          const item = this.value();
          if (item === INCOMPLETE) return item;
          items.push(item);
        }
        return items;
      }
      default:
        throw new RespProtocolError(`not a RESP2 reply (first byte 0x${(type ?? 0).toString(16)})`);
    }
  }
}
