/** Why the model scored a reading as it did: early warning, signed contributions, rule conditions. */
import type { Profile } from '../api/client';
import type { Condition, EarlyWarning, Explanation } from '../state/explanation';
import { explainedTotal, remainingText } from '../state/explanation';
import { formatNumber, formatPercent } from '../state/format';
import type { ModelKind } from '../state/modelKind';
import { featureMeta, modeNames, warningCounter } from '../state/profiles';

function signed(amount: number): string {
  return `${amount >= 0 ? '+' : '−'}${formatNumber(Math.abs(amount), 3)}`;
}

function Mode({ mode, profile }: { mode: string; profile: Profile | undefined }) {
  if (!mode) return null;
  return (
    <abbr title={modeNames(profile)[mode] ?? mode}>
      <strong>{mode}</strong>
    </abbr>
  );
}

/** A bar from the centre line: right raises the output, left lowers it; red is the worse way
 *  (a higher probability or anomaly score, a shorter remaining life), green the better. */
function SignedBar({ amount, scale, upIsGood }: { amount: number; scale: number; upIsGood: boolean }) {
  const width = `${((Math.min(1, Math.abs(amount) / scale)) * 50).toFixed(1)}%`;
  const up = amount >= 0;
  const bad = up !== upIsGood;
  return (
    <span className="signed-bar" aria-hidden="true">
      <span className={bad ? 'bar bar-up' : 'bar bar-down'} style={up ? { left: '50%', width } : { right: '50%', width }} />
    </span>
  );
}

function ContributionCell({ amount, scale, upIsGood = false }: { amount: number; scale: number; upIsGood?: boolean }) {
  return (
    <td>
      <SignedBar amount={amount} scale={scale} upIsGood={upIsGood} />
      <span className="bar-label">{signed(amount)}</span>
    </td>
  );
}

function hasRest(explanation: Explanation): boolean {
  return explanation.rest !== null && explanation.rest !== 0;
}

function Contributions({ explanation, profile, kind }: { explanation: Explanation; profile: Profile | undefined; kind: ModelKind }) {
  const { contributions, rest } = explanation;
  const healthy = contributions.some((c) => c.healthy !== null);
  const upIsGood = kind === 'rul';
  const showRest = hasRest(explanation);
  const scale = Math.max(1e-9, ...contributions.map((c) => Math.abs(c.contribution)), Math.abs(rest ?? 0));
  const total = explainedTotal(explanation);
  return (
    <table className="contributions" aria-label="Feature contributions">
      <thead>
        <tr>
          <th scope="col">Feature</th>
          <th scope="col">Value</th>
          {healthy && <th scope="col">Healthy</th>}
          <th scope="col">{kind === 'rul' ? 'Contribution (remaining life)' : 'Contribution'}</th>
        </tr>
      </thead>
      <tbody>
        {contributions.map((c, i) => (
          <tr key={`${c.feature}-${i}`} data-testid="contribution" data-feature={c.feature}>
            <th scope="row" title={c.feature}>
              {featureMeta(profile, c.feature).label}
            </th>
            <td>{formatNumber(c.value, featureMeta(profile, c.feature).decimals)}</td>
            {healthy && <td>{formatNumber(c.healthy, featureMeta(profile, c.feature).decimals)}</td>}
            <ContributionCell amount={c.contribution} scale={scale} upIsGood={upIsGood} />
          </tr>
        ))}
        {showRest && rest !== null && (
          <tr data-testid="contribution-rest" className="muted">
            <th scope="row">other features</th>
            <td>—</td>
            {healthy && <td>—</td>}
            <ContributionCell amount={rest} scale={scale} upIsGood={upIsGood} />
          </tr>
        )}
      </tbody>
      {total !== null && (
        <tfoot>
          <tr>
            <td colSpan={healthy ? 4 : 3} className="muted" data-testid="explanation-total">
              Base value + contributions{showRest ? ' + other features' : ''} = {formatPercent(total)}
            </td>
          </tr>
        </tfoot>
      )}
    </table>
  );
}

function conditionState(holds: boolean | null): { key: string; label: string } {
  if (holds === null) return { key: 'unknown', label: '' };
  return holds ? { key: 'met', label: 'met' } : { key: 'near', label: 'nearly met' };
}

function ConditionItem({ condition, profile }: { condition: Condition; profile: Profile | undefined }) {
  const state = conditionState(condition.holds);
  return (
    <li className={`condition condition-${state.key}`} data-testid="condition" data-mode={condition.mode} data-holds={state.key}>
      <Mode mode={condition.mode} profile={profile} /> {state.label && <span className={`condition-state condition-state-${state.key}`}>{state.label}</span>}{' '}
      {condition.text}
      {condition.margin !== null && <span className="muted"> (margin {formatNumber(condition.margin, 2)})</span>}
    </li>
  );
}

function EarlyWarningLine({ warning, profile }: { warning: EarlyWarning; profile: Profile | undefined }) {
  const counter = warningCounter(profile, warning.mode);
  const when = remainingText(warning.remaining, counter ?? { unit: warning.unit, usage: '' });
  return (
    <p
      className="early-warning"
      data-testid="early-warning"
      data-mode={warning.mode}
      data-remaining={warning.remaining ?? undefined}
    >
      <strong>Early warning</strong> <Mode mode={warning.mode} profile={profile} />: {warning.text || when}
    </p>
  );
}

/** `profile`: the machine's, for the names of failure modes and the labels of features (optional);
 *  `kind`: the model that explained (its contributions move a probability, a life or a score). */
export function ExplanationView({
  explanation,
  profile,
  kind = 'classifier',
}: {
  explanation: Explanation;
  profile?: Profile | undefined;
  kind?: ModelKind | undefined;
}) {
  return (
    <div className="explanation" data-testid="explanation">
      {explanation.text && (
        <p data-testid="explanation-text">
          <strong>{explanation.text}</strong>
          {kind !== 'classifier' && (
            <span className="muted">
              {' '}
              Each feature's contribution: the {kind === 'rul' ? 'remaining life' : 'score'} minus what it would be with that
              feature at its healthy mean.
            </span>
          )}
        </p>
      )}
      {explanation.earlyWarning && <EarlyWarningLine warning={explanation.earlyWarning} profile={profile} />}
      {explanation.baseValue !== null && (
        <p className="muted">
          Base value (average prediction) {formatPercent(explanation.baseValue)}; each feature below pushed this
          reading's probability up (+) or down (−).
        </p>
      )}
      {(explanation.contributions.length > 0 || hasRest(explanation)) && (
        <Contributions explanation={explanation} profile={profile} kind={kind} />
      )}
      {explanation.conditions.length > 0 && (
        <>
          <p className="muted">Failure-mode rules this reading meets or nearly meets:</p>
          <ul className="conditions" aria-label="Failure conditions">
            {explanation.conditions.map((c, i) => (
              <ConditionItem key={`${c.mode}-${i}`} condition={c} profile={profile} />
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
