# Sourced by scripts/kind/up.sh and scripts/minikube/up.sh: which engine holds the images this
# machine builds, and how to hand one to a cluster as an archive.
#   ENGINE   docker when a Docker daemon answers, else podman
#   save_image <image> <file.tar>   the image as a docker-archive tarball, named as the chart
#                                   names it (podman's local images are localhost/<name>)
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  ENGINE=docker
elif command -v podman >/dev/null 2>&1; then
  ENGINE=podman
  . "$(dirname "${BASH_SOURCE[0]}")/podman-env.sh"
else
  echo "needs docker (with a running daemon) or podman" >&2
  exit 1
fi
save_image() {
  local image=$1 file=$2
  if [ "$ENGINE" = podman ]; then
    # A short name is docker.io/library/<name> to the cluster's containerd; podman saves what it
    # holds as localhost/<name>, so tag it with the name the cluster will look for.
    local full=$image first=${image%%/*}
    if [ "$first" = "$image" ]; then full=docker.io/library/$image
    elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then full=docker.io/$image; fi
    local added=
    if [ "$full" != "$image" ] && ! podman image exists "$full"; then added=1; fi
    podman tag "$image" "$full"
    podman save --format docker-archive -o "$file" "$full"
    if [ -n "$added" ]; then podman untag "$full" "$full"; fi # leave the local store as it was
  else
    docker save -o "$file" "$image"
  fi
}
