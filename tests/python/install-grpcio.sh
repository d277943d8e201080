#!/usr/bin/env bash
# Installs what tests/python/xds_harness.py needs (gRPC C-core through Debian's python3-grpcio) when it is missing.
# Needs root and apt-get; elsewhere it says what to install, and the C-core tests are reported as skipped.
set -uo pipefail
if /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "tests/python: python3-grpcio is not installed and cannot be installed here (needs root and apt-get);" \
       "the gRPC C-core tests will be reported as skipped. Install it with: apt-get install python3-grpcio python3-protobuf" >&2
  exit 0
fi
echo "tests/python: installing python3-grpcio and python3-protobuf from Debian" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-grpcio python3-protobuf >/dev/null; }; then
  echo "tests/python: installing python3-grpcio failed; the gRPC C-core tests will be reported as skipped" >&2
fi
exit 0
