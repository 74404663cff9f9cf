#!/bin/sh
# The whole suite twice: on the native backend (so a failed addon build fails the tests),
# then on the tfjs-wasm fallback. SMOOTHCERT_TEST_BACKENDS="wasm" runs one of them.
# Every pass runs even when an earlier one fails, so one run shows every engine's failures;
# the script fails at the end if any pass did.
files=$(find dist/test -name '*.test.js' | sort)
failed=""
for backend in ${SMOOTHCERT_TEST_BACKENDS:-native wasm}; do
  echo "# smoothcert test suite on the $backend backend"
  SMOOTHCERT_BACKEND=$backend node --import ./dist/src/backend/auto.js --test --test-concurrency=1 $files || failed="$failed $backend"
done
if [ -n "$failed" ]; then
  echo "# smoothcert test suite failed on:$failed"
  exit 1
fi
