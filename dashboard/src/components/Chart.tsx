/**
 * A uPlot time-series chart that follows its container's width. Data changes go through
 * setData (no re-creation), so a 10 Hz live series costs one canvas redraw per batch.
 */
import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { nearConstantYRange, showPoints, windowXRange } from '../state/chartRange';

export interface ChartSeries {
  label: string;
  stroke: string;
  dash?: number[];
  /** Only dots, no line: readings to mark (null elsewhere), such as anomalous ones. */
  markers?: boolean;
  /** The edge of a band (see `band`): a hairline, not a series of its own to read. */
  edge?: boolean;
}

/** A filled area between two series (1-based indexes into `series`, as uPlot counts them). */
export interface ChartBand {
  upper: number;
  lower: number;
  fill: string;
}

interface ChartProps {
  title: string;
  /** uPlot AlignedData: x (seconds) then one column per series. */
  data: uPlot.AlignedData;
  series: readonly ChartSeries[];
  /** A fixed y-axis; without it the axis follows the data (a constant series gets ± 1 %). */
  yRange?: [number, number];
  /** Pin the x-axis to this many milliseconds ending now (re-evaluated on every setData). */
  xWindowMs?: number;
  height?: number;
  testId?: string;
  summary: string;
  band?: ChartBand;
}

const AXIS = { stroke: '#9aa4b2', grid: { stroke: 'rgba(154,164,178,0.15)', width: 1 }, ticks: { show: false } };

const yAuto: uPlot.Range.Function = (_u, min, max) =>
  nearConstantYRange(min, max) ?? uPlot.rangeNum(min, max, 0.1, true);

/** Dots for the points in view when they are few, so a lone reading is not invisible. */
const fewPoints: uPlot.Series.Points.Show = (_u, _series, idx0, idx1) => showPoints(idx1 - idx0 + 1);

function options(props: ChartProps, width: number, latest: { current: ChartProps }): uPlot.Options {
  const xScale: uPlot.Scale = { time: true };
  if (props.xWindowMs !== undefined) {
    // Reads the latest props: the window is the one shown now, not the one at creation.
    xScale.range = (u) => {
      const xs = u.data[0];
      return windowXRange(latest.current.xWindowMs ?? 0, Date.now(), xs.length > 0 ? (xs[xs.length - 1] ?? null) : null);
    };
  }
  return {
    width,
    height: props.height ?? 160,
    scales: { x: xScale, y: { range: props.yRange ?? yAuto } },
    axes: [AXIS, { ...AXIS, size: 56 }],
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    series: [{}, ...props.series.map(seriesOptions)],
    ...(props.band ? { bands: [{ series: [props.band.upper, props.band.lower], fill: props.band.fill }] } : {}),
  };
}

const noPath: uPlot.Series.PathBuilder = () => null;

function seriesOptions(s: ChartSeries): uPlot.Series {
  if (s.markers) {
    return { label: s.label, stroke: s.stroke, paths: noPath, points: { show: true, size: 7, fill: s.stroke, stroke: s.stroke } };
  }
  return {
    label: s.label,
    stroke: s.stroke,
    width: s.edge ? 0.5 : 1.5,
    points: { show: s.edge ? false : fewPoints },
    ...(s.dash ? { dash: s.dash } : {}),
  };
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  useLayoutEffect(() => {
    latest.current = props;
  });
  const seriesKey = props.series.map((s) => s.label).join('|');

  useEffect(() => {
    const root = box.current;
    if (!root) return undefined;
    const chart = new uPlot(options(latest.current, root.clientWidth || 300, latest), latest.current.data, root);
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      chart.setSize({ width: root.clientWidth || 300, height: latest.current.height ?? 160 });
    });
    observer.observe(root);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [seriesKey]);

  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);

  return (
    <figure
      className="chart"
      data-testid={props.testId}
      data-series={props.series.map((s) => s.label).join('|')}
      aria-label={`${props.title}: ${props.summary}`}
    >
      <figcaption>
        <span>{props.title}</span>
        <span className="chart-summary">{props.summary}</span>
      </figcaption>
      <div ref={box} className="chart-canvas" />
    </figure>
  );
}
