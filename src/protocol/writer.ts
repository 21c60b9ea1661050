/**
 * The plugins.d text protocol, restricted to what Netdata 1.37 understands:
 * CHART DIMENSION CLABEL CLABEL_COMMIT BEGIN SET END (plus DISABLE, FUNCTION* elsewhere).
 * The writer only builds text; the caller writes it once per iteration.
 */
import type { ChartDef, DimensionDef } from '../../charts/catalog.ts';
import { PLUGIN_NAME } from '../../charts/catalog.ts';
import type { ChartLabel, ChartValues } from '../model/chart-values.ts';

/** Netdata splits on spaces and honours '…' or "…" quoting; a quote inside a value cannot be escaped. */
export function quote(value: string): string {
  return `'${value.replace(/['"\\\r\n]/g, ' ').trim()}'`;
}


/** Label source 1 = auto (RRDLABEL_SRC_AUTO). */
const LABEL_SOURCE_AUTO = 1;

function chartLine(type: string, chart: ChartDef, updateEvery: number, module: string, options: string): string {
  return (
    `CHART ${type}.${chart.id} '' ${quote(chart.title)} ${quote(chart.units)} ${quote(chart.family)} ` +
    `${quote(chart.context)} ${chart.type} ${chart.priority} ${updateEvery} '${options}' ${quote(PLUGIN_NAME)} ${quote(module)}\n`
  );
}

/** Tells Netdata a chart is gone (its Redis went away): it stops being shown and is cleaned up later. */
export function chartObsolete(type: string, chart: ChartDef, updateEvery: number, module: string): string {
  return chartLine(type, chart, updateEvery, module, 'obsolete');
}

export function chartDefinition(
  type: string,
  chart: ChartDef,
  updateEvery: number,
  module: string,
  labels: readonly ChartLabel[] = [],
): string {
  let out = chartLine(type, chart, updateEvery, module, '');
  for (const label of labels) {
    out += `CLABEL ${quote(label.name)} ${quote(label.value)} ${LABEL_SOURCE_AUTO}\n`;
  }
  if (labels.length > 0) out += 'CLABEL_COMMIT\n';
  for (const dim of chart.dimensions) out += dimensionLine(dim);
  return out;
}

function dimensionLine(dim: DimensionDef): string {
  return (
    `DIMENSION ${quote(dim.id)} ${quote(dim.name ?? dim.id)} ${dim.algorithm ?? 'absolute'} ` +
    `${dim.multiplier ?? 1} ${dim.divisor ?? 1}${dim.hidden ? " 'hidden'" : ''}\n`
  );
}


/** Netdata keeps collected values as 64-bit integers (collected_number). */
const MAX_COLLECTED = 2 ** 62;

export function toCollected(value: number | undefined, dim: DimensionDef): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  const scaled = Math.round((value * (dim.divisor ?? 1)) / (dim.multiplier ?? 1));
  if (Math.abs(scaled) > MAX_COLLECTED) return '';
  return String(scaled);
}

/**
 * One chart's data block. `sinceLastUs` (microseconds since this chart's previous BEGIN) is left
 * out on the first collection, as Netdata expects.
 */
export function chartData(type: string, chart: ChartDef, values: ChartValues, sinceLastUs?: number): string {
  return dataBlock(`BEGIN ${type}.${chart.id}`, dataLayout(chart), values, sinceLastUs);
}

/**
 * What writing a chart's values needs, made once per chart: arrays by dimension, so that the loop
 * that runs for every dimension of every chart of every job every second reads array elements,
 * not the catalog's objects, whose shapes differ from dimension to dimension (each such property
 * read costs V8's interpreter a lookup by name).
 */
export interface DataLayout {
  readonly ids: readonly string[];
  /** `SET 'id' = ` */
  readonly prefixes: readonly string[];
  /** Whether the value goes out as it is (no divisor or multiplier). */
  readonly plain: readonly boolean[];
  readonly dimensions: readonly DimensionDef[];
}

const layouts = new WeakMap<ChartDef, DataLayout>();

export function dataLayout(chart: ChartDef): DataLayout {
  let layout = layouts.get(chart);
  if (layout === undefined) {
    layout = {
      ids: chart.dimensions.map((dim) => dim.id),
      prefixes: chart.dimensions.map((dim) => `SET ${quote(dim.id)} = `),
      plain: chart.dimensions.map((dim) => (dim.divisor ?? 1) === 1 && (dim.multiplier ?? 1) === 1),
      dimensions: chart.dimensions,
    };
    layouts.set(chart, layout);
  }
  return layout;
}

/** The same with the `BEGIN type.id` words given and the chart's layout (the emitter keeps both per chart). */
export function dataBlock(begin: string, layout: DataLayout, values: ChartValues, sinceLastUs?: number): string {
  let out = sinceLastUs === undefined ? begin + '\n' : begin + ' ' + gapText(sinceLastUs);
  const { ids, prefixes, plain } = layout;
  for (let i = 0; i < ids.length; i++) {
    const value = values[ids[i]!];
    // Most values are whole numbers on unscaled dimensions: no arithmetic needed for those. Tested
    // with operators, not Number.isInteger and Math.abs: a call costs V8's interpreter far more.
    const text =
      plain[i] && typeof value === 'number' && value % 1 === 0 && value <= MAX_COLLECTED && value >= -MAX_COLLECTED
        ? '' + value
        : toCollected(value, layout.dimensions[i]!);
    out += prefixes[i] + text + '\n';
  }
  return out + 'END\n';
}

/** The microseconds of a BEGIN line and its newline: every chart of an iteration has the same, so made once. */
let lastGap: { us: number; text: string } | undefined;
function gapText(sinceLastUs: number): string {
  if (lastGap === undefined || lastGap.us !== sinceLastUs) lastGap = { us: sinceLastUs, text: `${Math.max(0, Math.round(sinceLastUs))}\n` };
  return lastGap.text;
}
