#!/usr/bin/env bash
# Regenerates sdk/proto from sdk/proto/*.proto (lastfluss.proto: the plugin
# protocol; control.proto: the control socket) with protoc from Debian's
# protobuf-compiler and pinned Go generators installed into bin/tools (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12      # = google.golang.org/protobuf in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

if ! command -v protoc >/dev/null; then
	echo "protoc missing: apt-get install -y protobuf-compiler" >&2
	exit 1
fi

bin="$PWD/bin/tools"
mkdir -p "$bin"
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

PATH="$bin:$PATH" protoc \
	--proto_path=sdk/proto \
	--go_out=sdk/proto --go_opt=paths=source_relative \
	--go-grpc_out=sdk/proto --go-grpc_opt=paths=source_relative \
	sdk/proto/*.proto
