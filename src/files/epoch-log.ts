import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { EPOCH_LOG_COLUMNS, TRAIN_SETTINGS_PREFIX } from '../report/training-log.js';

/**
 * A training log with one line per finished epoch, rewritten atomically on every change. A new
 * log starts with the run's settings (`settings`, as its smoothcert.json records them: the
 * precision among them) and the column header. Opening it for a run whose checkpoint covers
 * `epochs` epochs drops any later lines (an epoch logged just before a kill, redone after the
 * resume), so each epoch appears once.
 */
export class EpochLog {
  constructor(
    readonly path: string,
    epochs: number,
    settings: Readonly<Record<string, unknown>>,
  ) {
    if (!existsSync(path)) {
      writeFileAtomic(path, `${TRAIN_SETTINGS_PREFIX}${JSON.stringify(settings)}\n${EPOCH_LOG_COLUMNS.join('\t')}\n`);
      return;
    }
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    const header = lines[0]?.startsWith(TRAIN_SETTINGS_PREFIX) ? 1 : 0;
    const kept = lines.filter((l, i) => i <= header || (/^\d+\t/.test(l) && Number(l.split('\t')[0]) < epochs));
    if (kept.length !== lines.length) writeFileAtomic(path, `${kept.join('\n')}\n`);
  }

  append(values: readonly (string | number)[]): void {
    writeFileAtomic(this.path, `${readFileSync(this.path, 'utf8')}${values.join('\t')}\n`);
  }
}
