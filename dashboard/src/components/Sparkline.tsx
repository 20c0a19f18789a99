import { memo } from 'react';
import { sparkPoints } from '../state/format';
import { SPARK_POINTS } from '../state/live';

const W = 120;
const H = 32;

/** Failure probability of the last readings on a fixed 0–1 scale, with the threshold. */
export const Sparkline = memo(function Sparkline({ values, threshold }: { values: readonly number[]; threshold: number | null }) {
  const y = threshold === null ? null : H - Math.min(1, Math.max(0, threshold)) * H;
  return (
    <svg className="sparkline" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" aria-hidden="true">
      {y !== null && <line className="sparkline-threshold" x1="0" x2={W} y1={y} y2={y} />}
      <polyline className="sparkline-line" points={sparkPoints(values, W, H, SPARK_POINTS)} />
    </svg>
  );
});
