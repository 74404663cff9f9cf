import { readFileSync } from 'node:fs';
import { UserError } from '../base/errors.js';
import {
  averageCertifiedRadius,
  certifiedAccuracy,
  parseCertifyTsv,
  totalSamples,
  type CertifyRow,
  type Summary,
} from '../report/analyze.js';

// Certify TSVs from disk; analyze.ts has the maths and the parser, with no Node import.

/** Reads and parses a certify TSV file; a missing or unreadable file is a UserError. */
export function readCertifyFile(file: string): CertifyRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseCertifyTsv(text, file);
}

/** Reads a certify file and computes certified accuracy at `radii`, the ACR and, when recorded, the forward passes. */
export function summarize(file: string, radii: readonly number[]): Summary {
  const rows = readCertifyFile(file);
  const samples = totalSamples(rows);
  const summary = { file, rows, radii, accuracy: certifiedAccuracy(rows, radii), acr: averageCertifiedRadius(rows) };
  return samples === undefined ? summary : { ...summary, samples };
}
