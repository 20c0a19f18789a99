/**
 * The overview's grid of machine cards. A small fleet renders every card; a large one is
 * virtualized by rows (@tanstack/react-virtual against the window's scroll): only the rows on
 * screen, plus a couple either side, exist in the DOM, so 2,000 machines cost what ~30 cards
 * cost. Cards are fixed-size (styles.css), so a row's height is known without measuring.
 */
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { MachineLive } from '../state/live';
import { columnsFor } from '../state/overview';
import { MachineCard } from './MachineCard';

/** Up to this many machines every card is rendered (no virtualization needed). */
export const VIRTUALIZE_ABOVE = 60;
/** Must match `.card` height and `.cards` gap in styles.css. */
export const CARD_HEIGHT_PX = 236;
export const CARD_GAP_PX = 12;
export const CARD_MIN_WIDTH_PX = 250;
const OVERSCAN_ROWS = 2;

/** Marks the first paint with machines (bench/perf.mjs reads it: first render of the overview). */
export const FIRST_RENDER_MARK = 'forewarn:overview-first-render';

function useFirstRenderMark(): void {
  useEffect(() => {
    if (performance.getEntriesByName(FIRST_RENDER_MARK).length > 0) return;
    requestAnimationFrame(() => performance.mark(FIRST_RENDER_MARK));
  }, []);
}

/** The element's content width, followed as the window resizes. */
function useWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return undefined;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(entry.contentRect.width);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

/**
 * The element's distance from the top of the document. What is above the grid (the
 * attention list, the filters) changes height as machines change state; its parent's
 * size changes with it, so a ResizeObserver on the parent notices.
 */
function useDocumentTop(ref: React.RefObject<HTMLElement | null>): number {
  const [top, setTop] = useState(0);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return undefined;
    const measure = () => setTop(Math.round(element.getBoundingClientRect().top + window.scrollY));
    measure();
    const observer = new ResizeObserver(measure);
    if (element.parentElement) observer.observe(element.parentElement);
    return () => observer.disconnect();
  }, [ref]);
  return top;
}

export function MachineGrid({ machines }: { machines: readonly MachineLive[] }) {
  useFirstRenderMark();
  if (machines.length <= VIRTUALIZE_ABOVE) {
    return (
      <div className="cards" data-testid="machine-cards" data-total={machines.length} data-virtual="false">
        {machines.map((m) => (
          <MachineCard key={m.id} machine={m} />
        ))}
      </div>
    );
  }
  return <VirtualGrid machines={machines} />;
}

function VirtualGrid({ machines }: { machines: readonly MachineLive[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const width = useWidth(ref);
  const columns = columnsFor(width, CARD_MIN_WIDTH_PX, CARD_GAP_PX);
  const rows = Math.ceil(machines.length / columns);
  const offset = useDocumentTop(ref);
  const virtualizer = useWindowVirtualizer({
    count: rows,
    estimateSize: () => CARD_HEIGHT_PX + CARD_GAP_PX,
    overscan: OVERSCAN_ROWS,
    scrollMargin: offset,
  });
  return (
    <div
      ref={ref}
      className="cards-virtual"
      data-testid="machine-cards"
      data-total={machines.length}
      data-virtual="true"
      style={{ height: virtualizer.getTotalSize() }}
    >
      {virtualizer.getVirtualItems().map((row) => (
        <div
          key={row.key}
          className="cards-row"
          style={{
            transform: `translateY(${row.start - virtualizer.options.scrollMargin}px)`,
            gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
          }}
        >
          {machines.slice(row.index * columns, (row.index + 1) * columns).map((m) => (
            <MachineCard key={m.id} machine={m} />
          ))}
        </div>
      ))}
    </div>
  );
}
