// `helm template` of charts/chat for a profile (helm-values/<profile>.yaml), with every
// NetworkPolicy switch on (the rehearsal enforces them) and the substitutions a profile needs
// on a machine with no operators and no registry, each with its reason.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export const SUBSTITUTIONS = {
  kind: [],
  minikube: [],
  cloud: [
    ['postgresql.cnpg.enabled=false', "CloudNativePG's Cluster needs its operator: the chart's own PostgreSQL StatefulSet runs instead"],
    ['global.imageRegistry=', 'images are local builds, not pulled from the registry the cloud values name'],
    ['global.imagePullPolicy=Never', 'nothing can be pulled here'],
    ['chat.uploads.storage=postgres', 'no S3 endpoint here: files go to PostgreSQL (the S3 backend is tested against s3rver by the backend e2e)'],
  ],
};
const POLICY_SWITCHES = ['networkPolicy', 'auth', 'users', 'chat', 'frontend', 'postgresql', 'redis'].map((c) =>
  c === 'networkPolicy' ? 'networkPolicy.enabled=true' : `${c}.networkPolicy.enabled=true`,
);

/** The rendered YAML; `say` hears each substitution. */
export function render({ profile = 'kind', policies = true, extra = [], say = () => {} } = {}) {
  const helm =
    process.env.HELM ??
    execFileSync('bash', [join(root, 'scripts/chart/install-helm.sh')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop();
  const args = ['-f', join(root, `helm-values/${profile}.yaml`)];
  if (policies) args.push('--set', POLICY_SWITCHES.join(','));
  if (!(profile in SUBSTITUTIONS)) throw new Error(`unknown profile ${profile}`);
  for (const [set, why] of SUBSTITUTIONS[profile]) {
    args.push('--set', set);
    say(`substituted (${profile}): --set ${set}: ${why}`);
  }
  return execFileSync(helm, ['template', 'chat', join(root, 'charts/chat'), ...args, ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
}
