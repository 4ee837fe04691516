# Sourced by scripts/read_gguf.sh and scripts/openai_chat.sh: npm_cached TAG PACKAGE@VERSION DIR installs the npm
# package into DIR under the cache outside the repository (GT_CACHE, else ~/.cache/gemma-tune) on first use, and sets
# npm_prefix to that folder; a failed install prints npm's log and exits 1.
npm_cached() {
  local tag=$1 pkg=$2 name=${2%@*}
  npm_prefix="${GT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gemma-tune}/$3"
  command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "$tag: node and npm are needed to install $pkg" >&2; exit 1; }
  [ ! -f "$npm_prefix/node_modules/$name/package.json" ] || return 0
  mkdir -p "$npm_prefix"
  if ! npm install --prefix "$npm_prefix" --loglevel=error --no-audit --no-fund "$pkg" >"$npm_prefix/npm.log" 2>&1; then
    echo "$tag: 'npm install $pkg' failed (is the npm registry reachable?):" >&2
    cat "$npm_prefix/npm.log" >&2
    exit 1
  fi
}
