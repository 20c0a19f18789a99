/** The verdicts of one machine's alerts, or of all: fetched once, updated by what this tab gives. */
import { useCallback, useEffect, useState } from 'react';
import type { Verdict } from '../api/client';
import { api } from '../api/client';
import { latestByAlert } from '../state/verdicts';

export function useVerdicts(machine?: string) {
  const [verdicts, setVerdicts] = useState<Map<string, Verdict>>(() => new Map());
  useEffect(() => {
    let cancelled = false;
    api.verdicts(machine).then(
      (response) => {
        if (!cancelled) setVerdicts((mine) => new Map([...latestByAlert(response.verdicts), ...mine]));
      },
      () => undefined, // the alerts still show; their verdict control starts empty
    );
    return () => {
      cancelled = true;
    };
  }, [machine]);
  const put = useCallback((verdict: Verdict) => setVerdicts((current) => new Map(current).set(verdict.alert_id, verdict)), []);
  return { verdicts, put };
}
