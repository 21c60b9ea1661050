/**
 * Keeps what Netdata has been told: which charts are defined (with which labels) and when each
 * chart was last sent, so that definitions go out once (again when labels change) and every
 * BEGIN after the first carries the microseconds since the previous one.
 */
import type { ChartDef } from '../../charts/catalog.ts';
import { chartDefinition, chartObsolete, dataBlock, dataLayout, type DataLayout } from './writer.ts';
import type { ChartLabel, ChartValues } from '../model/chart-values.ts';

/** What is known of one chart of one type. */
interface ChartState {
  /** The label signature it was defined with; undefined: not defined (yet, or any more). */
  signature: string | undefined;
  lastSentUs: number | undefined;
  /** `BEGIN type.id`, built once: this runs for every chart of every job every second. */
  begin: string;
  /** The chart's id, its values' key. */
  id: string;
  layout: DataLayout;
}

/** A chart given no values: every dimension a gap. */
const NO_VALUES: ChartValues = Object.freeze({});

export class ProtocolEmitter {
  /** By type, then by the catalog's chart object: no key string is built per chart per second. */
  private readonly charts = new Map<string, Map<ChartDef, ChartState>>();
  /** By type, the chart list last written and its charts' states in that order (a job's list changes rarely). */
  private readonly lists = new Map<string, { charts: readonly ChartDef[]; states: ChartState[] }>();

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
    if (state === undefined) ofType.set(chart, (state = { signature: undefined, lastSentUs: undefined, begin: `BEGIN ${type}.${chart.id}`, id: chart.id, layout: dataLayout(chart) }));
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
    this.lists.delete(type);
    if (ofType.size === 0) {
      this.charts.delete(type);
      if (this.lastType?.type === type) this.lastType = undefined;
    }
    return out;
  }

  /**
   * The data blocks of `charts` under `type`, each chart's values found in `values` by its id (a
   * chart without any: every dimension a gap). This runs for every job every second: the charts'
   * states are looked up again only when the list changes, and the loops are indexed (a `for…of`
   * costs V8's interpreter an iterator call per element).
   */
  dataOf(type: string, charts: readonly ChartDef[], values: ReadonlyMap<string, ChartValues>, nowUs: number): string {
    let list = this.lists.get(type);
    if (list === undefined || list.charts !== charts) this.lists.set(type, (list = { charts, states: charts.map((chart) => this.state(type, chart)) }));
    const states = list.states;
    // Joined, not `out +=` block after block: see Collector.render.
    const blocks: string[] = [];
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!;
      blocks.push(this.block(state, values.get(state.id) ?? NO_VALUES, nowUs));
    }
    return blocks.join('');
  }

  private block(state: ChartState, values: ChartValues, nowUs: number): string {
    const last = state.lastSentUs;
    state.lastSentUs = nowUs;
    return dataBlock(state.begin, state.layout, values, this.withDurations && last !== undefined ? nowUs - last : undefined);
  }
}

/** A string that changes when the labels do (computed once per job per iteration). */
export function labelSignature(labels: readonly ChartLabel[]): string {
  return labels.map((l) => `${l.name}=${l.value}`).join('\0');
}
