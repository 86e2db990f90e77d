#!/usr/bin/env bash
# Runs a command with the project's Node (the exact version in .node-version) first on PATH.
#
#   scripts/with-node.sh npm ci
#   scripts/with-node.sh npm test
#   source scripts/with-node.sh     # (from bash) puts it on PATH for the rest of that shell
#
# If the node already on PATH is that version, it is used as is. Otherwise the official
# binary comes from the npm registry's node-linux-<arch> package (the same build as
# nodejs.org's), fetched once with `npm pack` and unpacked into .cache/node/<version>/
# (ignored by git). The machine's npm then runs on that node: `#!/usr/bin/env node`.
# Idempotent: a second run only checks `node -v`.

__uvis_with_node() {
  local root wanted current arch dir tmp tarball
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  wanted="$(tr -d ' \t\r\n' < "$root/.node-version")"
  wanted="${wanted#v}"
  if ! [[ "$wanted" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "with-node: .node-version must hold one exact version (like 24.1.0), not '$wanted'" >&2
    return 1
  fi
  current="$(node -v 2>/dev/null || true)"
  if [ "$current" = "v$wanted" ]; then
    return 0
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) arch=linux-x64 ;;
    Linux-aarch64 | Linux-arm64) arch=linux-arm64 ;;
    Darwin-arm64) arch=darwin-arm64 ;;
    Darwin-x86_64) arch=darwin-x64 ;;
    *) echo "with-node: no node-* package for $(uname -s)-$(uname -m); install Node $wanted yourself" >&2; return 1 ;;
  esac
  dir="$root/.cache/node/$wanted-$arch"
  if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" -v 2>/dev/null)" != "v$wanted" ]; then
    echo "with-node: fetching Node $wanted (npm package node-$arch@$wanted) into ${dir#"$root"/}" >&2
    tmp="$(mktemp -d "$root/.cache/node-fetch.XXXXXX" 2>/dev/null || { mkdir -p "$root/.cache" && mktemp -d "$root/.cache/node-fetch.XXXXXX"; })"
    # npm pack checks the tarball against the registry's integrity hash; no install scripts run.
    tarball="$(cd "$tmp" && npm pack --silent "node-$arch@$wanted")" || { rm -rf "$tmp"; return 1; }
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tmp/$tarball" -C "$tmp/unpacked" || { rm -rf "$tmp"; return 1; }
    chmod +x "$tmp/unpacked/package/bin/node"
    if [ "$("$tmp/unpacked/package/bin/node" -v)" != "v$wanted" ]; then
      echo "with-node: the fetched binary is not Node $wanted" >&2
      rm -rf "$tmp"
      return 1
    fi
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    mv "$tmp/unpacked/package" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  if [ "$(node -v)" != "v$wanted" ]; then
    echo "with-node: node -v prints $(node -v), not v$wanted" >&2
    return 1
  fi
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: PATH changes in the caller's shell.
  __uvis_with_node
  return $?
fi

set -euo pipefail
__uvis_with_node
if [ $# -eq 0 ]; then
  node -v
else
  exec "$@"
fi
