#!/usr/bin/env bash
# Generates TypeScript for proto/warren.proto with protoc (Debian protobuf-compiler) and the
# pinned ts-proto plugin (tools/protoc-gen-ts_proto).
# Usage: tools/proto_warren.sh [OUT_DIR]   (default: proto/gen; proto/gen_test.ts passes a temp dir)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/proto/gen}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if ! command -v protoc >/dev/null 2>&1; then
  echo "proto_warren: protoc not found; run 'deno task setup' (installs protobuf-compiler)" >&2
  exit 1
fi

cd "$root/proto"
protoc \
  --plugin=protoc-gen-ts_proto="$root/tools/protoc-gen-ts_proto" \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,importSuffix=.ts,forceLong=number,useOptionals=messages,env=browser,outputJsonMethods=false \
  -I . \
  warren.proto

# ts-proto's longToNumber turns the bigint the reader returns into a string and parses that: most
# of the cost of decoding int64 fields (a list of 1,000 services has ~12,000). Number(bigint) is
# the same value with the same range checks. Fail loudly if a ts-proto upgrade changes the helper.
slow='  const num = globalThis.Number(int64.toString());'
fast='  const num = globalThis.Number(typeof int64 === "bigint" ? int64 : int64.toString());'
if [ "$(grep -cxF "$slow" "$out/warren.ts")" != 1 ]; then
  echo "proto_warren: ts-proto's longToNumber changed; update the patch in $0" >&2
  exit 1
fi
sed -i "s/^${slow}\$/${fast}/" "$out/warren.ts"
