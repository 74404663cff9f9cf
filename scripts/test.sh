#!/bin/sh
# The whole suite twice: on the native backend (so a failed addon build fails the tests),
# then on the tfjs-wasm fallback. SMOOTHCERT_TEST_BACKENDS="wasm" runs one of them.
set -e
files=$(find dist/test -name '*.test.js' | sort)
for backend in ${SMOOTHCERT_TEST_BACKENDS:-native wasm}; do
  echo "# smoothcert test suite on the $backend backend"
  SMOOTHCERT_BACKEND=$backend node --import ./dist/src/backend/auto.js --test --test-concurrency=1 $files
done
