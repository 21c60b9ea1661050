/**
 * Netdata functions (SPEC §9): the registration line, parsing a call, and the result block.
 * 1.37 calls `FUNCTION <transaction> <timeout> "<name and args>"`; 2.x may add access and source
 * words, and may send a body between FUNCTION_PAYLOAD and FUNCTION_PAYLOAD_END.
 */
import { splitWords } from './words.ts';

export const DOCTOR_FUNCTION = 'redisfork:doctor';

export function functionRegistration(name: string, timeoutSeconds: number, help: string): string {
  return `FUNCTION GLOBAL "${name}" ${timeoutSeconds} "${help.replace(/"/g, "'")}"\n`;
}

export interface FunctionCall {
  transaction: string;
  timeoutSeconds: number;
  name: string;
  args: string[];
}

/** A FUNCTION or FUNCTION_PAYLOAD line; undefined when it is not a well-formed call. */
export function parseFunctionCall(line: string): FunctionCall | undefined {
  const words = splitWords(line);
  if (words[0] !== 'FUNCTION' && words[0] !== 'FUNCTION_PAYLOAD') return undefined;
  const [, transaction, timeout, command] = words;
  if (!transaction || !timeout || command === undefined) return undefined;
  const timeoutSeconds = Number(timeout);
  const [name = '', ...args] = command.trim().split(/\s+/);
  if (!name || !Number.isFinite(timeoutSeconds)) return undefined;
  return { transaction, timeoutSeconds, name, args };
}

export function functionResult(transaction: string, status: number, body: unknown, contentType = 'application/json'): string {
  // The body must not contain a line that Netdata would read as the end marker.
  const text = JSON.stringify(body);
  return `FUNCTION_RESULT_BEGIN ${transaction} ${status} ${contentType} 0\n${text}\nFUNCTION_RESULT_END\n`;
}

/** NETDATA_VERSION like "v2.1.0" or "2.0.3": Netdata 2.x renders functions as tables. */
export function netdataMajor(version: string | undefined): number | undefined {
  const match = /^v?(\d+)\./.exec(version ?? '');
  return match ? Number(match[1]) : undefined;
}
