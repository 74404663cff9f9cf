#!/bin/sh
# Two passes. The native pass runs every test on the oneDNN backend (so a failed addon build
# fails the tests). The wasm pass runs, on the tfjs-wasm fallback, the tests whose results come
# from the engine: kernels and backends, models, training, smoothing, noise, the training and
# Figure 1 workflows, ONNX export, the README's session as the fallback's end-to-end check, and the
# browser end-to-end test (the page computes on tfjs-wasm, so it is compared with Node on tfjs-wasm).
# Process, file, queue, server and docs tests check smoothcert's own logic, the same on any
# engine, so they run once. SMOOTHCERT_TEST_BACKENDS="wasm" runs one pass.
# Two test files run at a time (SMOOTHCERT_TEST_CONCURRENCY): most wait on child processes,
# Redis or timers, so two cores stay busy; every test runs in its own process either way.
# Every pass runs even when an earlier one fails, so one run shows every engine's failures;
# the script fails at the end if any pass did.
all=$(find dist/test -name '*.test.js' | sort)
engine=$(find dist/test/backend dist/test/models dist/test/training dist/test/smoothing dist/test/noise dist/test/runs \
  -name '*.test.js' | sort)
engine="$engine dist/test/onnx/export.test.js dist/test/docs/readme.test.js dist/test/web/e2e.test.js"
failed=""
for backend in ${SMOOTHCERT_TEST_BACKENDS:-native wasm}; do
  if [ "$backend" = native ]; then files=$all; else files=$engine; fi
  echo "# smoothcert test suite on the $backend backend"
  SMOOTHCERT_BACKEND=$backend node --import ./dist/src/backend/auto.js --test --test-concurrency=${SMOOTHCERT_TEST_CONCURRENCY:-2} $files || failed="$failed $backend"
done
if [ -n "$failed" ]; then
  echo "# smoothcert test suite failed on:$failed"
  exit 1
fi
