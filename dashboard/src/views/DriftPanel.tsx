/** How far recent readings are from the model's training data, per sensor (GET /api/drift). */
import type { DriftFeature, DriftLevel, DriftResponse, Profile } from '../api/client';
import { PSI_EXPLAINED, PSI_SIGNIFICANT, levelSummary, worstLevel } from '../state/drift';
import { formatNumber, formatTime } from '../state/format';
import { labelWithUnit, quantityMeta } from '../state/profiles';
import { useDrift } from './useDrift';

const LEVEL_LABEL: Record<DriftLevel, string> = { stable: 'Stable', moderate: 'Moderate', significant: 'Significant' };
/** The meter's full width, in PSI: twice the "significant" line, so both lines show. */
const METER_MAX = 2 * PSI_SIGNIFICANT;


export function LevelPill({ level }: { level: DriftLevel }) {
  return <span className={`pill pill-drift-${level}`}>{LEVEL_LABEL[level]}</span>;
}

function PsiMeter({ feature }: { feature: DriftFeature }) {
  const width = `${(Math.min(1, Math.max(0, feature.psi) / METER_MAX) * 100).toFixed(1)}%`;
  return (
    <span className="psi-meter" aria-hidden="true">
      <span className={`psi-fill psi-fill-${feature.level}`} style={{ width }} />
    </span>
  );
}

function DriftTable({ features, profile }: { features: readonly DriftFeature[]; profile: Profile | undefined }) {
  return (
    <table className="drift-table" aria-label="Drift per sensor">
      <thead>
        <tr>
          <th scope="col">Sensor</th>
          <th scope="col" className="num">
            PSI
          </th>
          <th scope="col">Level</th>
          <th scope="col" className="hide-narrow">
            <span className="visually-hidden">PSI against the 0.1 and 0.25 lines</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {features.map((f, i) => (
          <tr key={`${f.feature}-${i}`} data-testid="drift-row" data-level={f.level} data-feature={f.feature} data-psi={f.psi}>
            <th scope="row">{labelWithUnit(quantityMeta(profile, f.feature))}</th>
            <td className="num">{formatNumber(f.psi, 3)}</td>
            <td>
              <LevelPill level={f.level} />
            </td>
            <td className="hide-narrow">
              <PsiMeter feature={f} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function scopeText(report: DriftResponse, profile: Profile | undefined): string {
  const kind = profile?.name ?? report.profile;
  const whose = report.machine_id === null ? `of all machines${kind ? ` of profile ${kind}` : ''}` : `of ${report.machine_id}`;
  return `Latest ${report.window} readings ${whose} against the training data of model ${report.model_version ?? '— (none in service)'}`;
}

function Report({ report, fetchedAt, profile }: { report: DriftResponse; fetchedAt: number | null; profile: Profile | undefined }) {
  return (
    <>
      <p className="muted" data-testid="drift-meta" data-window={report.window} data-model-version={report.model_version ?? ''}>
        {scopeText(report, profile)}
        {fetchedAt !== null && ` · updated ${formatTime(new Date(fetchedAt).toISOString())}`}
      </p>
      {report.reason !== null && (
        <p className="drift-reason" data-testid="drift-reason">
          No drift report: {report.reason}.
        </p>
      )}
      {report.features.length > 0 && <DriftTable features={report.features} profile={profile} />}
    </>
  );
}

interface DriftPanelProps {
  /** One machine; omitted: every machine of `profile`. */
  machine?: string;
  /** The profile whose model and fields the report is about (labels and units come from it). */
  profile?: Profile | undefined;
  title?: string;
}

export function DriftPanel({ machine, profile, title = 'Drift' }: DriftPanelProps) {
  const { report, fetchedAt, error, retry } = useDrift(machine, machine === undefined ? profile?.id : undefined);
  const worst = report ? worstLevel(report.features) : null;
  const headingId = `drift-title-${machine ?? profile?.id ?? 'fleet'}`;
  return (
    <section className="drift-panel" data-testid="drift-panel" data-machine={machine ?? ''} data-level={worst ?? 'none'} aria-labelledby={headingId}>
      <h2 id={headingId} className="section-title">
        {title} {worst && <LevelPill level={worst} />}
        {report && report.features.length > 0 && <span className="muted drift-summary">{levelSummary(report.features)}</span>}
      </h2>
      {report ? (
        <Report report={report} fetchedAt={fetchedAt} profile={profile} />
      ) : (
        !error && (
          <p className="muted" role="status" data-testid="drift-loading">
            Loading the drift report…
          </p>
        )
      )}
      {error && (
        <p className="drift-error" role="status" data-testid="drift-error">
          {report ? 'Refreshing the drift report failed' : 'Cannot load the drift report'}: {error.message}{' '}
          <button type="button" onClick={retry}>
            Try again
          </button>
        </p>
      )}
      <p className="muted drift-help" data-testid="drift-help">
        {PSI_EXPLAINED}
      </p>
    </section>
  );
}
