#!/usr/bin/env bash
# Entry point of `deno task proto`: regenerates every committed protobuf binding.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/proto_warren.sh" "$@"
if [ -f "$here/proto_containerd.sh" ]; then
  bash "$here/proto_containerd.sh"
fi
