/**
 * A uPlot time-series chart that follows its container's width. Data changes go through
 * setData (no re-creation), so a 10 Hz live series costs one canvas redraw per batch.
 */
import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  stroke: string;
  dash?: number[];
}

interface ChartProps {
  title: string;
  /** uPlot AlignedData: x (seconds) then one column per series. */
  data: uPlot.AlignedData;
  series: readonly ChartSeries[];
  yRange?: [number, number];
  height?: number;
  testId?: string;
  summary: string;
}

const AXIS = { stroke: '#9aa4b2', grid: { stroke: 'rgba(154,164,178,0.15)', width: 1 }, ticks: { show: false } };

function options(props: ChartProps, width: number): uPlot.Options {
  const yScale: uPlot.Scale = props.yRange ? { range: props.yRange } : {};
  return {
    width,
    height: props.height ?? 160,
    scales: { x: { time: true }, y: yScale },
    axes: [AXIS, { ...AXIS, size: 56 }],
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    series: [
      {},
      ...props.series.map((s) => ({
        label: s.label,
        stroke: s.stroke,
        width: 1.5,
        points: { show: false },
        ...(s.dash ? { dash: s.dash } : {}),
      })),
    ],
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
    const chart = new uPlot(options(latest.current, root.clientWidth || 300), latest.current.data, root);
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
    <figure className="chart" data-testid={props.testId} aria-label={`${props.title}: ${props.summary}`}>
      <figcaption>
        <span>{props.title}</span>
        <span className="chart-summary">{props.summary}</span>
      </figcaption>
      <div ref={box} className="chart-canvas" />
    </figure>
  );
}
