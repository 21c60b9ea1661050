import { splitWords } from '../../src/protocol/words.ts';

/**
 * What Netdata 1.37's plugins.d parser accepts, as a checker for tests: the keyword set of 1.37,
 * the arity of each line, integer SET values, BEGIN only for defined charts and END after BEGIN.
 * Also a small parser of the output into charts and values, for comparing with INFO and procfs.
 */

export const NETDATA_137_KEYWORDS = new Set([
  'CHART', 'DIMENSION', 'BEGIN', 'SET', 'END', 'FLUSH', 'DISABLE', 'VARIABLE', 'CLABEL', 'CLABEL_COMMIT',
  'FUNCTION', 'FUNCTION_RESULT_BEGIN', 'FUNCTION_RESULT_END',
]);

export { splitWords };

export interface ParsedChart {
  id: string;
  title: string;
  units: string;
  family: string;
  context: string;
  labels: Record<string, string>;
  dimensions: { id: string; name: string; algorithm: string; multiplier: number; divisor: number; hidden: boolean }[];
}

export interface ParsedOutput {
  charts: Map<string, ParsedChart>;
  /** Last values per chart: dimension id -> raw integer, or null for an empty SET (a gap). */
  values: Map<string, Record<string, number | null>>;
  problems: string[];
  disabled: boolean;
}

export function parseProtocol(text: string): ParsedOutput {
  const charts = new Map<string, ParsedChart>();
  const values = new Map<string, Record<string, number | null>>();
  const problems: string[] = [];
  let current: ParsedChart | undefined;
  let pendingLabels: Record<string, string> = {};
  let inBegin: string | undefined;
  let disabled = false;
  let inFunctionResult = false;
  text.split('\n').forEach((line, index) => {
    const at = `line ${index + 1}: ${line.slice(0, 120)}`;
    // A function's result body is opaque to the parser until its end marker.
    if (inFunctionResult) {
      if (line === 'FUNCTION_RESULT_END') inFunctionResult = false;
      return;
    }
    if (line.startsWith('FUNCTION_RESULT_BEGIN ')) {
      if (splitWords(line).length < 5) problems.push(`${at}: FUNCTION_RESULT_BEGIN needs transaction, code, type, expires`);
      inFunctionResult = true;
      return;
    }
    if (line.trim() === '') return;
    const words = splitWords(line);
    const keyword = words[0] ?? '';
    if (!NETDATA_137_KEYWORDS.has(keyword)) {
      problems.push(`${at}: keyword unknown to Netdata 1.37`);
      return;
    }
    switch (keyword) {
      case 'CHART': {
        const full = words[1] ?? '';
        if (!/^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/.test(full)) problems.push(`${at}: bad chart id`);
        if (words.length < 13) problems.push(`${at}: CHART has ${words.length} words, expected 13`);
        if (!/^\d+$/.test(words[8] ?? '') || !/^\d+$/.test(words[9] ?? '')) problems.push(`${at}: priority/update_every not integers`);
        if (!['line', 'area', 'stacked'].includes(words[7] ?? '')) problems.push(`${at}: bad chart type`);
        current = {
          id: full, title: words[3] ?? '', units: words[4] ?? '', family: words[5] ?? '', context: words[6] ?? '',
          labels: {}, dimensions: [],
        };
        charts.set(full, current);
        pendingLabels = {};
        break;
      }
      case 'CLABEL':
        if (!current) problems.push(`${at}: CLABEL outside a chart`);
        if (words.length !== 4 || !/^\d+$/.test(words[3] ?? '')) problems.push(`${at}: CLABEL needs name, value, source`);
        pendingLabels[words[1] ?? ''] = words[2] ?? '';
        break;
      case 'CLABEL_COMMIT':
        if (current) current.labels = { ...pendingLabels };
        pendingLabels = {};
        break;
      case 'DIMENSION': {
        if (!current) {
          problems.push(`${at}: DIMENSION outside a chart`);
          break;
        }
        const [, id = '', name = '', algorithm = '', mul = '', div = '', options = ''] = words;
        if (!['absolute', 'incremental', 'percentage-of-absolute-row', 'percentage-of-incremental-row'].includes(algorithm)) problems.push(`${at}: bad algorithm`);
        if (!/^-?\d+$/.test(mul) || !/^\d+$/.test(div) || div === '0') problems.push(`${at}: bad multiplier/divisor`);
        current.dimensions.push({ id, name, algorithm, multiplier: Number(mul), divisor: Number(div), hidden: options.includes('hidden') });
        break;
      }
      case 'BEGIN':
        if (inBegin) problems.push(`${at}: BEGIN inside BEGIN`);
        if (!charts.has(words[1] ?? '')) problems.push(`${at}: BEGIN for an undefined chart`);
        if (words[2] !== undefined && !/^\d+$/.test(words[2])) problems.push(`${at}: BEGIN microseconds not an integer`);
        inBegin = words[1];
        values.set(inBegin ?? '', {});
        break;
      case 'SET': {
        if (!inBegin) {
          problems.push(`${at}: SET outside BEGIN`);
          break;
        }
        const [, id = '', value] = words;
        const chart = charts.get(inBegin);
        if (!chart?.dimensions.some((d) => d.id === id)) problems.push(`${at}: SET of an unknown dimension`);
        if (value !== undefined && !/^-?\d+$/.test(value)) problems.push(`${at}: SET value is not an integer (1.37 takes integers only)`);
        const record = values.get(inBegin);
        if (record) record[id] = value === undefined ? null : Number(value);
        break;
      }
      case 'END':
        if (!inBegin) problems.push(`${at}: END without BEGIN`);
        inBegin = undefined;
        break;
      case 'DISABLE':
        disabled = true;
        break;
      default:
        break;
    }
  });
  if (inBegin) problems.push(`BEGIN ${inBegin} never ended`);
  return { charts, values, problems, disabled };
}

/** A value in display units: raw * multiplier / divisor. */
export function displayValue(out: ParsedOutput, chartId: string, dimId: string): number | null | undefined {
  const raw = out.values.get(chartId)?.[dimId];
  if (raw === undefined || raw === null) return raw;
  const dim = out.charts.get(chartId)?.dimensions.find((d) => d.id === dimId);
  return dim ? (raw * dim.multiplier) / dim.divisor : raw;
}
