import { fileURLToPath } from 'node:url';

/** A hand-made certify TSV of 10 examples; its metrics are worked out in analyze.test.ts. */
export const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/certify-small.tsv', import.meta.url));

/**
 * A hand-made adaptive CERTIFY TSV in decision mode (samples and certified columns), 5 examples:
 * its metrics and forward passes are worked out in analyze.test.ts.
 */
export const ADAPTIVE_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/certify-adaptive.tsv', import.meta.url));
