import { readFileSync } from 'node:fs';
import { LOG_FILE, META_FILE } from '../base/run-folder.js';
import { averageCertifiedRadius, certifiedAccuracy, parseCertifyTsv } from '../report/analyze.js';
import { parsePredictTsv, PREDICT_HEADER } from '../report/predict-tsv.js';
import { parseTrainingLog } from '../report/training-log.js';
import { checkMeta } from '../models/meta.js';
import type { RunFile } from './api.js';

/** Reads and summarizes one file; `shown` is its name relative to the root, for messages. */
export function summarizeFile(path: string, version: string, shown: string): RunFile {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const kind = name === LOG_FILE ? 'log' : name === META_FILE ? 'model' : undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { name, kind: kind ?? 'certify', version, error: `cannot read ${shown}: ${(e as Error).message}` };
  }
  const resultKind = kind ?? (isPredict(text) ? 'predict' : 'certify');
  try {
    return { name, kind: resultKind, version, summary: summarize(resultKind, text, shown) };
  } catch (e) {
    return { name, kind: resultKind, version, error: (e as Error).message };
  }
}

function isPredict(text: string): boolean {
  const lines = text.split('\n', 2);
  const header = lines[0]?.startsWith('#') ? lines[1] : lines[0];
  return header?.replace(/\r$/, '') === PREDICT_HEADER.join('\t');
}

function summarize(kind: RunFile['kind'], text: string, shown: string): Record<string, unknown> {
  switch (kind) {
    case 'log': {
      const rows = parseTrainingLog(text, shown);
      const last = rows.at(-1);
      return { epochs: rows.length, ...(last && { testAcc: last.test_acc, trainLoss: last.train_loss }) };
    }
    case 'certify': {
      const rows = parseCertifyTsv(text, shown);
      return { examples: rows.length, acr: averageCertifiedRadius(rows), accuracyAt0: certifiedAccuracy(rows, [0])[0] };
    }
    case 'predict': {
      const rows = parsePredictTsv(text, shown);
      return { examples: rows.length, accuracy: rows.filter((r) => r.correct).length / Math.max(1, rows.length) };
    }
    case 'model': {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new Error(`${shown} is not valid JSON (${(e as Error).message}); the file is corrupt`);
      }
      const meta = checkMeta(json, shown);
      return {
        arch: meta.arch,
        dataset: meta.dataset,
        inputShape: meta.inputShape,
        numClasses: meta.numClasses,
        training: meta.training ?? {},
      };
    }
  }
}
