#!/bin/sh
# SPDX-License-Identifier: MIT
# SQL text in module/ lives only in module/store/ (and the devchain's own
# store, module/devchain/). Lists every file elsewhere that holds SQL and
# exits 1; exits 0 when there is none. Comment lines (// …) do not count.
# The detection is the reviewers' hook, kept verbatim.
# Usage: scripts/check-sql.sh [SOURCE_ROOT]   (default: the repository)
#        scripts/check-sql.sh --self-test      (the check on a made-up tree)
set -eu

if [ "${1:-}" = "--self-test" ]; then
    self=$0
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/module/registry" "$tmp/module/store" "$tmp/module/devchain" "$tmp/module/pos"
    printf '%s\n' 'auto r = db.query("SELECT id FROM t WHERE a = ?", {a});' > "$tmp/module/store/ok.cpp"
    printf '%s\n' 'db_.execute("UPDATE dc_tip SET height = ?", {h});' > "$tmp/module/devchain/ok.cpp"
    printf '%s\n' '    // the UPDATE patch_state SET … in store/patches.cpp' > "$tmp/module/pos/comment.h"
    if ! "$self" "$tmp" > /dev/null 2>&1; then echo "self-test: store, devchain or a comment flagged" >&2; exit 1; fi
    printf '%s\n' 'auto n = db->execute("DELETE FROM claim_intents WHERE id = ?", {id});' > "$tmp/module/registry/bad.cpp"
    if out=$("$self" "$tmp" 2>&1); then echo "self-test: SQL in module/registry not flagged" >&2; exit 1; fi
    case $out in
    *module/registry/bad.cpp*) ;;
    *) echo "self-test: the offending file is not named" >&2; exit 1 ;;
    esac
    echo "check-sql self-test: ok"
    exit 0
fi

root=${1:-$(dirname "$0")/..}
cd "$root"
[ -d module ] || { echo "check-sql: no module/ under $root" >&2; exit 2; }

hits=$(grep -rnE '(SELECT [^;]* FROM|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|FOR UPDATE)' module \
        --include='*.cpp' --include='*.h' |
       grep -vE '^module/(store|devchain)/' |
       grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)

if [ -n "$hits" ]; then
    echo "check-sql: SQL outside module/store/ and module/devchain/ in:" >&2
    printf '%s\n' "$hits" | cut -d: -f1 | sort -u | sed 's/^/  /' >&2
    printf '%s\n' "$hits" | sed 's/^/    /' >&2
    exit 1
fi
echo "check-sql: no SQL outside module/store/ and module/devchain/"
