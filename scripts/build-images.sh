#!/usr/bin/env bash
# Builds the five AspireBatch images (api, worker, dashboard, migrator, simulator) with the .NET SDK's container
# support: no Dockerfile and no Docker engine, only `dotnet publish -t:PublishContainer`. The image settings live in
# build/Containers.props and each project's ContainerRepository.
#
#   scripts/build-images.sh                              # OCI tarballs in artifacts/images/ (the default)
#   scripts/build-images.sh --archive DIR                # tarballs elsewhere
#   scripts/build-images.sh --registry host:port         # push to a registry (e.g. localhost:5000)
#   options: --version 1.2.3 (tag; latest is always added)  --base-registry mirror:5000 (where the chiseled base
#            images are pulled from; default mcr.microsoft.com)  --arch x64|arm64  --insecure (plain-HTTP registries)
#            --only api,worker (a subset)  --check (only say whether the base image registry answers)
#
# The SDK pulls the base image (mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled) from a registry even when it
# writes a tarball. Where that registry cannot be reached the script says so and exits 3 before building anything.
# Exit codes: 0 built (or --check: reachable), 1 a build failed, 2 bad usage, 3 base image registry unreachable,
# 4 destination registry unreachable.
set -uo pipefail
cd "$(dirname "$0")/.."

registry="" archive="" version="" base_registry="mcr.microsoft.com" arch="" insecure=false check=false only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --registry) registry="${2:?--registry needs host:port}"; shift 2 ;;
    --archive) archive="${2:?--archive needs a directory}"; shift 2 ;;
    --version) version="${2:?--version needs a value}"; shift 2 ;;
    --base-registry) base_registry="${2:?--base-registry needs a host}"; shift 2 ;;
    --arch) arch="${2:?--arch needs x64 or arm64}"; shift 2 ;;
    --insecure) insecure=true; shift ;;
    --only) only="${2:?--only needs a list}"; shift 2 ;;
    --check) check=true; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-images: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$registry" ] && [ -n "$archive" ]; then
  echo "build-images: give --registry or --archive, not both" >&2; exit 2
fi
[ -z "$registry" ] && [ -z "$archive" ] && archive="artifacts/images"

# Does an OCI registry answer at all? Any HTTP status on /v2/ counts (401 is the usual answer); no answer is 000.
answers() {
  local host="$1" scheme code
  for scheme in https http; do
    if command -v curl >/dev/null; then
      code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 10 "$scheme://$host/v2/" 2>/dev/null)
      [ "${code:-000}" != "000" ] && return 0
    else
      local name="${host%%:*}" port="${host##*:}"
      [ "$name" = "$host" ] && port=443
      timeout 5 bash -c "exec 3<>/dev/tcp/$name/$port" 2>/dev/null && return 0
    fi
  done
  return 1
}

if ! answers "$base_registry"; then
  cat >&2 <<MSG
build-images: the base image registry $base_registry does not answer, so no image can be built here.
  The .NET SDK pulls mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled(-extra) from it even for a tarball.
  Run this where $base_registry is reachable, or mirror the two base images and pass --base-registry MIRROR.
MSG
  exit 3
fi
if $check; then
  echo "build-images: base image registry $base_registry answers"; exit 0
fi
if [ -n "$registry" ] && ! answers "$registry"; then
  echo "build-images: the destination registry $registry does not answer (is it running? --insecure for plain HTTP)" >&2
  exit 4
fi

declare -A projects=(
  [api]=Api/AspireBatch.Api.csproj
  [worker]=Worker/AspireBatch.Worker.csproj
  [dashboard]=Dashboard/AspireBatch.Dashboard.csproj
  [migrator]=Migrator/AspireBatch.Migrator.csproj
  [simulator]=Simulator/AspireBatch.Simulator.csproj
)
names=(api worker dashboard migrator simulator)
[ -n "$only" ] && IFS=',' read -r -a names <<< "$only"

props=(-c Release -t:PublishContainer "-p:BaseImageRegistry=$base_registry")
[ -n "$version" ] && props+=("-p:Version=$version")
[ -n "$arch" ] && props+=("-p:ContainerRuntimeIdentifier=linux-$arch" "-p:RuntimeIdentifier=linux-$arch")
if [ -n "$registry" ]; then
  props+=("-p:ContainerRegistry=$registry")
  $insecure && export DOTNET_CONTAINER_INSECURE_REGISTRIES="$registry"
else
  mkdir -p "$archive"
  archive=$(cd "$archive" && pwd)
fi

lock=(); command -v flock >/dev/null && lock=(flock /tmp/aspirebatch.lock)
failed=()
for name in "${names[@]}"; do
  project="${projects[$name]:-}"
  [ -z "$project" ] && { echo "build-images: no image called $name (api, worker, dashboard, migrator, simulator)" >&2; exit 2; }
  extra=()
  [ -n "$archive" ] && extra=("-p:ContainerArchiveOutputPath=$archive/aspirebatch-$name.tar.gz")
  echo "==> aspirebatch/$name ($project)"
  log=$(mktemp)
  if "${lock[@]}" dotnet publish "$project" "${props[@]}" "${extra[@]}" > "$log" 2>&1; then
    grep -E 'Pushed image|Built image|archive' "$log" | sed 's/^ */    /'
  else
    failed+=("$name")
    tail -n 30 "$log"
    if grep -q -E 'GetImageManifestAsync|CONTAINER1013|CONTAINER1004|Name or service not known|No such host' "$log"; then
      echo "build-images: $name: the base image could not be pulled from $base_registry (see above)" >&2
    fi
  fi
  rm -f "$log"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "build-images: failed: ${failed[*]}" >&2; exit 1
fi
if [ -n "$registry" ]; then
  echo "build-images: pushed ${names[*]} to $registry"
else
  echo "build-images: wrote $(ls "$archive"/aspirebatch-*.tar.gz 2>/dev/null | wc -l) tarball(s) to $archive"
fi
