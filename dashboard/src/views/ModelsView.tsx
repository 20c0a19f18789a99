/**
 * #/models: per profile, the champion (its predictions alert), the challenger (scored in shadow,
 * never alerting) and the previous champion; champion against challenger on the readings both
 * scored; and the buttons that promote the challenger or roll back (the API token is asked once).
 * The workers follow a promotion or a rollback between two batches, without a restart.
 */
import { useCallback, useEffect, useState } from 'react';
import type { Credentials } from '../api/auth';
import { storeCredentials, storedCredentials } from '../api/auth';
import type { Comparison, ModelFigures, ModelRoles, ModelVersion } from '../api/client';
import { ApiError, api } from '../api/client';
import { ErrorState, Loading } from '../components/States';
import { TokenDialog } from '../components/TokenDialog';
import { formatNumber } from '../state/format';

type Move = 'promote' | 'rollback';

function text(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? '–' : formatNumber(value, digits);
}

function VersionRow({ role, model }: { role: string; model: ModelVersion | null }) {
  return (
    <tr data-testid={`model-${role}`}>
      <th scope="row">{role}</th>
      <td>
        <code data-testid={`model-${role}-version`}>{model?.version ?? 'none'}</code>
      </td>
      <td>{model?.source ?? ''}</td>
      <td className="num">{text(model?.validation?.precision)}</td>
      <td className="num">{text(model?.validation?.recall)}</td>
      <td className="num">{text(model?.validation?.f1)}</td>
    </tr>
  );
}

const FIGURES: [string, (f: ModelFigures) => number | null][] = [
  ['Labelled readings', (f) => f.labelled],
  ['Precision', (f) => f.precision],
  ['Recall', (f) => f.recall],
  ['F1', (f) => f.f1],
  ['Alerts', (f) => f.alerts],
  ['Alerts per machine-day', (f) => f.alerts_per_machine_day],
];

function ComparisonTable({ comparison }: { comparison: Comparison }) {
  return (
    <>
      <p className="muted" data-testid="comparison-summary">
        {comparison.readings} readings scored by both on {comparison.machines} machines; agreement{' '}
        {text(comparison.agreement)} (champion alone {comparison.champion_only}, challenger alone{' '}
        {comparison.challenger_only}).
      </p>
      <table className="drift-table" aria-label="Champion against challenger" data-testid="comparison-table">
        <thead>
          <tr>
            <th scope="col">On the same readings</th>
            <th scope="col" className="num">
              Champion
            </th>
            <th scope="col" className="num">
              Challenger
            </th>
          </tr>
        </thead>
        <tbody>
          {FIGURES.map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td className="num">{text(value(comparison.champion))}</td>
              <td className="num">{text(value(comparison.challenger))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ProfileModels({ roles, onMove }: { roles: ModelRoles; onMove: (profile: string, move: Move) => void }) {
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [reason, setReason] = useState<string | null>(null);
  const challenger = roles.challenger?.version;
  useEffect(() => {
    if (!challenger) return;
    let live = true;
    api
      .comparison(roles.profile)
      .then((found) => {
        if (!live) return;
        setComparison(found.comparison);
        setReason(found.reason);
      })
      .catch((err: unknown) => live && setReason(err instanceof Error ? err.message : String(err)));
    return () => {
      live = false;
    };
  }, [roles.profile, challenger]);
  return (
    <section className="drift-panel" data-testid={`models-${roles.profile}`} aria-label={`Models of ${roles.profile}`}>
      <h2 className="section-title">{roles.profile}</h2>
      <table className="drift-table" aria-label={`Model versions of ${roles.profile}`}>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Version</th>
            <th scope="col">Trained on</th>
            <th scope="col" className="num">
              Precision
            </th>
            <th scope="col" className="num">
              Recall
            </th>
            <th scope="col" className="num">
              F1
            </th>
          </tr>
        </thead>
        <tbody>
          <VersionRow role="champion" model={roles.champion} />
          <VersionRow role="challenger" model={roles.challenger} />
          <VersionRow role="previous" model={roles.previous} />
        </tbody>
      </table>
      {challenger && comparison && <ComparisonTable comparison={comparison} />}
      {challenger && !comparison && reason && <p className="muted">{reason}</p>}
      <div className="form-actions">
        {challenger && (
          <button type="button" className="primary" onClick={() => onMove(roles.profile, 'promote')} data-testid="promote">
            Promote the challenger
          </button>
        )}
        {roles.previous && (
          <button type="button" onClick={() => onMove(roles.profile, 'rollback')} data-testid="rollback">
            Roll back to {roles.previous.version}
          </button>
        )}
      </div>
    </section>
  );
}

export function ModelsView() {
  const [models, setModels] = useState<ModelRoles[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [pending, setPending] = useState<{ profile: string; move: Move } | null>(null);
  const [tokenError, setTokenError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const load = useCallback(() => {
    api
      .models()
      .then((found) => {
        setModels(found.models.filter((m) => m.champion || m.challenger || m.previous));
        setError(null);
      })
      .catch((err: unknown) => setError(err instanceof ApiError ? err : new ApiError(String(err), 0)));
  }, []);
  useEffect(load, [load]);

  const send = async (profile: string, move: Move, credentials: Credentials) => {
    try {
      const moved = await api.moveModel(profile, move, credentials.token);
      setDone(`Profile ${moved.profile}: ${moved.action}; the champion is now ${moved.after}.`);
      load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        storeCredentials(null);
        setTokenError('The API refused this token. Enter it again.');
        setPending({ profile, move });
      } else {
        setDone(`Not done: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  const onMove = (profile: string, move: Move) => {
    const credentials = storedCredentials();
    if (credentials) void send(profile, move, credentials);
    else setPending({ profile, move });
  };

  return (
    <section aria-labelledby="models-page-title">
      <h1 id="models-page-title" className="page-title">
        Models
      </h1>
      {done && (
        <p role="status" data-testid="model-move-result">
          {done}
        </p>
      )}
      {error && <ErrorState title="Models unavailable" message={error.message} status={error.status} onRetry={load} />}
      {!error && models === null && <Loading what="models" />}
      {models?.length === 0 && <p className="muted">No model yet: train one with python -m training.</p>}
      {models?.map((roles) => <ProfileModels key={roles.profile} roles={roles} onMove={onMove} />)}
      {pending && (
        <TokenDialog
          purpose="models"
          error={tokenError}
          onCancel={() => {
            setPending(null);
            setTokenError(null);
          }}
          onSubmit={(credentials) => {
            storeCredentials(credentials);
            const { profile, move } = pending;
            setPending(null);
            setTokenError(null);
            void send(profile, move, credentials);
          }}
        />
      )}
    </section>
  );
}
