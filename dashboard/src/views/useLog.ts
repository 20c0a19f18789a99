/** The log's pages for the applied filters: first page on change, then "Load more". */
import { useCallback, useEffect, useState } from 'react';
import type { Prediction } from '../api/client';
import { ApiError, api } from '../api/client';
import type { LogFilters } from '../state/logQuery';
import { buildLogQuery } from '../state/logQuery';

export interface LogPages {
  items: Prediction[];
  nextCursor: string | null;
  loading: boolean;
  error: string | null;
  errorStatus: number;
}

const START: LogPages = { items: [], nextCursor: null, loading: true, error: null, errorStatus: 0 };

export function useLog(filters: LogFilters) {
  const [pages, setPages] = useState<LogPages>(START);
  const [generation, setGeneration] = useState(0);

  const fetchPage = useCallback(
    async (cursor: string | null, isCurrent: () => boolean) => {
      const query = buildLogQuery(filters, cursor);
      if (!query.ok) {
        setPages({ ...START, loading: false, error: query.error });
        return;
      }
      setPages((p) => ({ ...p, loading: true, error: null, errorStatus: 0 }));
      try {
        const page = await api.log(query.search);
        if (!isCurrent()) return;
        setPages((p) => ({
          items: cursor ? [...p.items, ...page.items] : page.items,
          nextCursor: page.next_cursor,
          loading: false,
          error: null,
          errorStatus: 0,
        }));
      } catch (err) {
        if (!isCurrent()) return;
        const status = err instanceof ApiError ? err.status : 0;
        setPages((p) => ({ ...p, loading: false, error: err instanceof Error ? err.message : String(err), errorStatus: status }));
      }
    },
    [filters],
  );

  useEffect(() => {
    let current = true;
    setPages(START);
    void fetchPage(null, () => current);
    return () => {
      current = false;
    };
  }, [fetchPage, generation]);

  const loadMore = useCallback(() => {
    if (pages.nextCursor) void fetchPage(pages.nextCursor, () => true);
  }, [fetchPage, pages.nextCursor]);
  const refresh = useCallback(() => setGeneration((g) => g + 1), []);
  return { pages, loadMore, refresh };
}
