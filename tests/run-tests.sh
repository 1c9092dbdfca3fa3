#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the whole suite in the normal build and in the ASan+UBSan build, then
# prints one closing line "tests: N passed, N failed" over both.
set -u

status=0
for dir in "$@"; do
    echo "== meson test in $dir"
    if ! meson test -C "$dir" --print-errorlogs --verbose; then
        status=1
    fi
done

python3 - "$@" <<'PY'
import json, sys
passed = failed = 0
for d in sys.argv[1:]:
    try:
        with open(f"{d}/meson-logs/testlog.json") as f:
            for line in f:
                r = json.loads(line)
                if r.get("result") == "OK":
                    passed += 1
                else:
                    failed += 1
                    print(f"FAILED: {d}: {r.get('name')} ({r.get('result')})")
    except OSError as e:
        failed += 1
        print(f"FAILED: no test log in {d}: {e}")
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
py=$?
[ $status -eq 0 ] && [ $py -eq 0 ]
