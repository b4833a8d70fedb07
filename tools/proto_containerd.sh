#!/usr/bin/env bash
# Generates TypeScript (ts-proto, grpc-js services) for the containerd 1.6 API and the cgroup
# metrics and runc options types from the .proto files Debian ships (golang-github-containerd-containerd-dev, which
# pulls golang-github-containerd-cgroups-dev).
#
# Usage: tools/proto_containerd.sh [OUT_DIR]   (default: runtime/containerd/gen)
# The generated code is committed; runtime/containerd/gen_test.ts fails when it is stale.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/runtime/containerd/gen}"
gocode=/usr/share/gocode/src
api=github.com/containerd/containerd/api

if [ ! -d "$gocode/$api" ]; then
  echo "proto_containerd: $gocode/$api missing; install golang-github-containerd-containerd-dev" >&2
  exit 1
fi
command -v protoc >/dev/null || {
  echo "proto_containerd: protoc missing; install protobuf-compiler" >&2
  exit 1
}

cd "$gocode"
protos=()
for svc in containers content diff events images introspection leases namespaces snapshots tasks \
  version; do
  protos+=("$api/services/$svc/v1"/*.proto)
done
protos+=("$api/types"/*.proto "$api/types/task"/*.proto "$api/events"/*.proto)
# runc shim options (Any "containerd.runc.v1.Options" on Containers/Create: runc root, binary).
protos+=(github.com/containerd/containerd/runtime/v2/runc/options/oci.proto)
protos+=(github.com/containerd/cgroups/stats/v1/metrics.proto
  github.com/containerd/cgroups/v2/stats/metrics.proto)

# Generate into a scratch dir first so a failed run leaves the committed code untouched.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(
  # forceLong=number: containerd's int64/uint64 fields (sizes, pids, exit times) fit in 2^53.
  # Timestamps become Date; bytes stay Uint8Array (default env); JSON methods are not needed.
  protoc \
    --plugin=protoc-gen-ts_proto="$root/tools/protoc-gen-ts_proto" \
    -I"$gocode" \
    -I"$gocode/github.com/gogo/protobuf" \
    -I"$gocode/github.com/gogo/googleapis" \
    -I/usr/include \
    --ts_proto_out="$tmp" \
    --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,importSuffix=.ts \
    --ts_proto_opt=forceLong=number,useDate=true,outputJsonMethods=false \
    "${protos[@]}" 2> >(grep -v 'warning: Import .* is unused' >&2)
)
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -r "$tmp" "$out"
