#!/bin/sh
# SPDX-License-Identifier: MIT
# SQL text in module/ lives only in module/store/ (and the devchain's own
# store, module/devchain/). Lists every file elsewhere that holds SQL and
# exits 1; exits 0 when there is none. Comment lines (// …) do not count.
# The detection is the reviewers' hook, kept verbatim.
# Usage: scripts/check-sql.sh [SOURCE_ROOT]   (default: the repository)
set -eu
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
