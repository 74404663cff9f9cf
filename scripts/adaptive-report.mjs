// Tabulates scripts/adaptive-comparison.sh's TSVs: for each sigma, fixed-n CERTIFY against the three
// adaptive questions — certified accuracy (radius > r, the decision's own criterion), ACR, forward
// passes and wall-clock (the sum of the time column). Prints markdown.
//   node scripts/adaptive-report.mjs [models-dir] [adaptive-dir]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { averageCertifiedRadius, readCertifyFile, totalSamples } from '../dist/src/index.js';

const models = process.argv[2] ?? 'docs/results/fashion-mnist';
const dir = process.argv[3] ?? 'docs/results/adaptive';
const N0 = 100;
const N = 100_000;

/** Seconds in a TSV's time column (H:MM:SS.ffffff, the reference's format). */
function seconds(file) {
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('#'));
  const col = lines[0].split('\t').indexOf('time');
  return lines.slice(1).reduce((sum, line) => {
    const [h, m, s] = line.split('\t')[col].split(':').map(Number);
    return sum + 3600 * h + 60 * m + s;
  }, 0);
}

/** The settings a smoothcert TSV records in its first line. */
function settingsOf(file) {
  return JSON.parse(
    readFileSync(file, 'utf8')
      .split('\n', 1)[0]
      .replace(/^# smoothcert \w+ /, ''),
  );
}

/** Fraction of rows certified correct at radius r: radius > r (fixed-n, radius mode) or r listed (decision mode). */
function accuracyAt(rows, r) {
  const hit = (row) => row.correct && (row.certified ? row.certified.includes(r) : row.radius > r);
  return rows.filter(hit).length / rows.length;
}

const pct = (x) => (100 * x).toFixed(1);
const out = [];
out.push(
  '| σ | run | examples | radii decided | certified accuracy (%) at those radii | ACR | forward passes | fewer than fixed-n | wall-clock (s) |',
);
out.push('| --- | --- | --: | --- | --- | --: | --: | --: | --: |');
for (const s of ['0.25', '0.5', '1.0']) {
  const fixedFile = join(models, `consistency-s${s}`, 'certify.tsv');
  let fixed;
  try {
    fixed = readCertifyFile(fixedFile);
  } catch {
    continue; // not certified yet
  }
  const fixedPasses = fixed.length * (N0 + N);
  const runs = [
    ['fixed-n (n = 100,000)', fixedFile, null],
    ['adaptive, decision at r = σ', join(dir, `s${s}-decision-sigma.tsv`), 'decision'],
    ['adaptive, decision over the table radii', join(dir, `s${s}-decision-table.tsv`), 'decision'],
    ['adaptive, radius mode t = 0.02', join(dir, `s${s}-radius-t0.02.tsv`), 'radius'],
  ];
  for (const [name, file, mode] of runs) {
    let rows;
    try {
      rows = readCertifyFile(file);
    } catch {
      continue;
    }
    // The radii a decision run answered for (its settings line); the others are compared at the table radii.
    const radii =
      mode === 'decision' ? settingsOf(file).radii : [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2].filter((r) => r < 4 * Number(s));
    const passes = totalSamples(rows) ?? rows.length * (N0 + N);
    const fixedSame = fixed.filter((row) => rows.some((r) => r.idx === row.idx));
    const fixedAcc = radii.map((r) => pct(accuracyAt(fixedSame, r)));
    const acc = radii.map((r) => pct(accuracyAt(rows, r)));
    const accText =
      mode === null ? acc.join(' / ') : acc.map((a, i) => (a === fixedAcc[i] ? a : `${a} (fixed ${fixedAcc[i]})`)).join(' / ');
    const acr = mode === 'decision' ? '—' : averageCertifiedRadius(rows).toFixed(3);
    const ratio = mode === null ? '1×' : `${((fixedPasses * rows.length) / fixed.length / passes).toFixed(1)}×`;
    out.push(
      `| ${s} | ${name} | ${rows.length} | ${radii.join(', ')} | ${accText} | ${acr} | ${passes.toLocaleString('en-US')} | ${ratio} | ${seconds(file).toFixed(0)} |`,
    );
  }
}
process.stdout.write(`${out.join('\n')}\n`);
