#!/usr/bin/env bash
# The release workflow's chart steps:
#   chart-release.sh package <version> <out>   the chart with version, appVersion and images = <version>
#                                              (OWNER: the images' ghcr.io owner)
#   chart-release.sh push <version> <out>      helm push to $CHART_REPOSITORY (oci://…)
#   chart-release.sh notes <version> <file>    release notes with the install commands
set -euo pipefail
cd "$(dirname "$0")/../.."
cmd=${1:?}
version=${2:?version}
case "$cmd" in
  package)
    out=${3:?out}
    mkdir -p "$out"
    # A copy (symlinks resolved) whose artifacthub.io/images name the images of this release.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    cp -rL charts/chat "$tmp/chat"
    node scripts/chart/set-version.mjs "$tmp/chat" "$version" ${OWNER:+"ghcr.io/$OWNER"}
    helm package "$tmp/chat" --version "$version" --app-version "$version" -d "$out"
    ;;
  push)
    out=${3:?out}
    echo "$REGISTRY_PASSWORD" | helm registry login ghcr.io -u "$REGISTRY_USER" --password-stdin
    helm push "$out/chat-$version.tgz" "${CHART_REPOSITORY:?}"
    ;;
  notes)
    file=${3:?file}
    mkdir -p "$(dirname "$file")"
    cat >"$file" <<NOTES
Images: \`ghcr.io/${OWNER:-OWNER}/chat-{auth,users,chat,migrate,frontend,smoke,all-in-one}:$version\` (linux/amd64, linux/arm64, with SBOM and provenance).

Install the chart:

\`\`\`sh
helm install chat oci://ghcr.io/${OWNER:-OWNER}/charts/chat --version $version -f cloud-values.yaml
\`\`\`

(start from \`helm-values/cloud.yaml\` in the repository at this tag).
NOTES
    ;;
  *)
    echo "usage: chart-release.sh package|push|notes <version> <out>" >&2
    exit 2
    ;;
esac
