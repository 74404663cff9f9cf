import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { averageCertifiedRadius, certifiedAccuracy, parseCertifyTsv } from '../report/analyze.js';
import { parsePredictTsv, PREDICT_HEADER } from '../report/predict-tsv.js';
import { parseTrainingLog } from '../report/training-log.js';
import { checkMeta } from '../models/meta.js';
import type { RunFile, RunInfo } from './api.js';

const LOG_FILE = 'log.tsv';
const META_FILE = 'smoothcert.json';
/** How deep below the root runs are looked for; deeper folders are not listed. */
const MAX_DEPTH = 4;

/**
 * The runs under `root`, each with its files summarized. Symlinks are not followed (a link that
 * may lead out of the root is not listed); a file that cannot be read or parsed is
 * listed with its problem instead of failing the listing. Summaries are cached by file version,
 * so polling a folder that a run is still writing re-reads only what changed.
 */
export class RunLister {
  private readonly cache = new Map<string, RunFile>();
  private readonly realRoot: string;

  constructor(readonly root: string) {
    this.realRoot = realpathSync(root);
  }

  list(): RunInfo[] {
    const runs: RunInfo[] = [];
    const visit = (dir: string, depth: number) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // removed while listing, or unreadable: nothing to show
      }
      const files = entries.filter((e) => e.isFile() && (e.name.endsWith('.tsv') || e.name === META_FILE))
        .map((e) => this.describe(join(dir, e.name)))
        .filter((f): f is RunFile => f !== undefined)
        .sort((a, b) => a.name.localeCompare(b.name));
      if (files.length > 0) runs.push({ id: relative(this.realRoot, dir).split('\\').join('/') || '.', files });
      if (depth < MAX_DEPTH) {
        for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') visit(join(dir, e.name), depth + 1);
      }
    };
    visit(this.realRoot, 0);
    return runs.sort((a, b) => a.id.localeCompare(b.id));
  }

  private describe(path: string): RunFile | undefined {
    let version: string;
    try {
      const stat = statSync(path);
      version = `${stat.size}-${stat.mtimeMs}`;
    } catch {
      return undefined;
    }
    const key = `${path}\0${version}`;
    let file = this.cache.get(key);
    if (file === undefined) {
      for (const old of this.cache.keys()) if (old.startsWith(`${path}\0`)) this.cache.delete(old);
      file = summarizeFile(path, version, relative(this.realRoot, path));
      this.cache.set(key, file);
    }
    return file;
  }
}

/** Reads and summarizes one file; `shown` is its name relative to the root, for messages. */
function summarizeFile(path: string, version: string, shown: string): RunFile {
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
      return { arch: meta.arch, dataset: meta.dataset, inputShape: meta.inputShape, numClasses: meta.numClasses, training: meta.training ?? {} };
    }
  }
}
