/**
 * Keeps what Netdata has been told: which charts are defined (with which labels) and when each
 * chart was last sent, so that definitions go out once (again when labels change) and every
 * BEGIN after the first carries the microseconds since the previous one.
 */
import type { ChartDef } from '../../charts/catalog.ts';
import { chartDefinition, chartObsolete, dataBlock } from './writer.ts';
import type { ChartLabel, ChartValues } from '../model/chart-values.ts';

/** What is known of one chart of one type. */
interface ChartState {
  /** The label signature it was defined with; undefined: not defined (yet, or any more). */
  signature: string | undefined;
  lastSentUs: number | undefined;
  /** `BEGIN type.id`, built once: this runs for every chart of every job every second. */
  begin: string;
}

export class ProtocolEmitter {
  /** By type, then by the catalog's chart object: no key string is built per chart per second. */
  private readonly charts = new Map<string, Map<ChartDef, ChartState>>();

  constructor(
    private readonly updateEvery: number,
    /** `--once` sends no durations: there is no previous collection. */
    private readonly withDurations = true,
  ) {}

  /** The charts of the type last asked for: a job's charts are asked for one after another. */
  private lastType: { type: string; ofType: Map<ChartDef, ChartState> } | undefined;

  private state(type: string, chart: ChartDef): ChartState {
    let ofType = this.lastType?.type === type ? this.lastType.ofType : this.charts.get(type);
    if (ofType === undefined) this.charts.set(type, (ofType = new Map()));
    if (this.lastType?.ofType !== ofType) this.lastType = { type, ofType };
    let state = ofType.get(chart);
    if (state === undefined) ofType.set(chart, (state = { signature: undefined, lastSentUs: undefined, begin: `BEGIN ${type}.${chart.id}` }));
    return state;
  }

  /** Definition text if the chart is new or its labels changed, else ''. */
  define(type: string, chart: ChartDef, module: string, labels: readonly ChartLabel[], signature = labelSignature(labels)): string {
    const state = this.state(type, chart);
    if (state.signature === signature) return '';
    state.signature = signature;
    return chartDefinition(type, chart, this.updateEvery, module, labels);
  }

  /** Marks every chart defined under `type` obsolete and forgets it; '' when none was. */
  obsoleteType(type: string, charts: readonly ChartDef[], module: string): string {
    const ofType = this.charts.get(type);
    if (ofType === undefined) return '';
    let out = '';
    for (const chart of charts) {
      const defined = ofType.get(chart)?.signature !== undefined;
      ofType.delete(chart);
      if (defined) out += chartObsolete(type, chart, this.updateEvery, module);
    }
    if (ofType.size === 0) {
      this.charts.delete(type);
      if (this.lastType?.type === type) this.lastType = undefined;
    }
    return out;
  }

  data(type: string, chart: ChartDef, values: ChartValues, nowUs: number): string {
    const state = this.state(type, chart);
    const last = state.lastSentUs;
    state.lastSentUs = nowUs;
    return dataBlock(state.begin, chart, values, this.withDurations && last !== undefined ? nowUs - last : undefined);
  }
}

/** A string that changes when the labels do (computed once per job per iteration). */
export function labelSignature(labels: readonly ChartLabel[]): string {
  return labels.map((l) => `${l.name}=${l.value}`).join('\0');
}
