/**
 * Netdata functions (SPEC §9): the registration line, parsing a call, and the result block.
 * 1.37 calls `FUNCTION <transaction> <timeout> "<name and args>"`; 2.x may add access and source
 * words, and may send a body between FUNCTION_PAYLOAD and FUNCTION_PAYLOAD_END.
 */
import { splitWords } from './words.ts';

export const DOCTOR_FUNCTION = 'redisfork:doctor';

/** What 1.45+ adds to a registration: tags, who may call it, where it sorts, its version. */
export interface FunctionRegistrationExtras {
  tags: string;
  /** `any`, `member`, `admin`, or a bitmap like `0x13` (signed in, same space, sensitive data). */
  access: string;
  priority: number;
  version: number;
}

/**
 * Agents before 1.45 take `FUNCTION GLOBAL "name" timeout "help"` and nothing more; with no access
 * word 2.x answers any anonymous caller, so the extras go wherever the agent knows them (SPEC §12).
 */
export function functionRegistration(name: string, timeoutSeconds: number, help: string, extras?: FunctionRegistrationExtras): string {
  const base = `FUNCTION GLOBAL "${name}" ${timeoutSeconds} "${help.replace(/"/g, "'")}"`;
  if (extras === undefined) return `${base}\n`;
  return `${base} "${extras.tags}" "${extras.access}" ${extras.priority} ${extras.version}\n`;
}

/** Does this agent (NETDATA_VERSION) take the extended registration and the FUNCTION_CANCEL line? Since 1.45. */
export function agentHasExtendedFunctions(version: string | undefined): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 1 || (major === 1 && minor >= 45);
}

/** The access apps.plugin asks for its process list: a signed-in user of the same space with access to sensitive data. */
export const SENSITIVE_FUNCTION_ACCESS = '0x13';

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

/** An error answer, with the message under both names the agents read. */
export function functionError(transaction: string, status: number, message: string): string {
  return functionResult(transaction, status, { status, error_message: message, errorMessage: message });
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
