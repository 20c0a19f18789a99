/** Why the model scored a reading as it did: early warning, signed contributions, rule conditions. */
import type { Profile } from '../api/client';
import type { Condition, EarlyWarning, Explanation } from '../state/explanation';
import { explainedTotal, remainingText } from '../state/explanation';
import { formatNumber, formatPercent } from '../state/format';
import { modeNames, quantityMeta, warningCounter } from '../state/profiles';

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

/** A bar from the centre line: right (red) raises the probability, left (green) lowers it. */
function SignedBar({ amount, scale }: { amount: number; scale: number }) {
  const width = `${((Math.min(1, Math.abs(amount) / scale)) * 50).toFixed(1)}%`;
  const up = amount >= 0;
  return (
    <span className="signed-bar" aria-hidden="true">
      <span className={up ? 'bar bar-up' : 'bar bar-down'} style={up ? { left: '50%', width } : { right: '50%', width }} />
    </span>
  );
}

function ContributionCell({ amount, scale }: { amount: number; scale: number }) {
  return (
    <td>
      <SignedBar amount={amount} scale={scale} />
      <span className="bar-label">{signed(amount)}</span>
    </td>
  );
}

function hasRest(explanation: Explanation): boolean {
  return explanation.rest !== null && explanation.rest !== 0;
}

function Contributions({ explanation, profile }: { explanation: Explanation; profile: Profile | undefined }) {
  const { contributions, rest } = explanation;
  const showRest = hasRest(explanation);
  const scale = Math.max(1e-9, ...contributions.map((c) => Math.abs(c.contribution)), Math.abs(rest ?? 0));
  const total = explainedTotal(explanation);
  return (
    <table className="contributions" aria-label="Feature contributions">
      <thead>
        <tr>
          <th scope="col">Feature</th>
          <th scope="col">Value</th>
          <th scope="col">Contribution</th>
        </tr>
      </thead>
      <tbody>
        {contributions.map((c, i) => (
          <tr key={`${c.feature}-${i}`} data-testid="contribution" data-feature={c.feature}>
            <th scope="row" title={c.feature}>
              {quantityMeta(profile, c.feature).label}
            </th>
            <td>{formatNumber(c.value, quantityMeta(profile, c.feature).decimals)}</td>
            <ContributionCell amount={c.contribution} scale={scale} />
          </tr>
        ))}
        {showRest && rest !== null && (
          <tr data-testid="contribution-rest" className="muted">
            <th scope="row">other features</th>
            <td>—</td>
            <ContributionCell amount={rest} scale={scale} />
          </tr>
        )}
      </tbody>
      {total !== null && (
        <tfoot>
          <tr>
            <td colSpan={3} className="muted" data-testid="explanation-total">
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

/** `profile`: the machine's, for the names of failure modes and the labels of features (optional). */
export function ExplanationView({ explanation, profile }: { explanation: Explanation; profile?: Profile | undefined }) {
  return (
    <div className="explanation" data-testid="explanation">
      {explanation.earlyWarning && <EarlyWarningLine warning={explanation.earlyWarning} profile={profile} />}
      {explanation.baseValue !== null && (
        <p className="muted">
          Base value (average prediction) {formatPercent(explanation.baseValue)}; each feature below pushed this
          reading's probability up (+) or down (−).
        </p>
      )}
      {(explanation.contributions.length > 0 || hasRest(explanation)) && <Contributions explanation={explanation} profile={profile} />}
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
