import { fileURLToPath } from 'node:url';

/** A hand-made certify TSV of 10 examples; its metrics are worked out in analyze.test.ts. */
export const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/certify-small.tsv', import.meta.url));
