import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { EPOCH_LOG_COLUMNS } from '../report/training-log.js';

/**
 * A training log with one line per finished epoch, rewritten atomically on every change.
 * Opening it for a run whose checkpoint covers `epochs` epochs drops any later lines (an
 * epoch logged just before a kill, redone after the resume), so each epoch appears once.
 */
export class EpochLog {
  constructor(
    readonly path: string,
    epochs: number,
  ) {
    if (!existsSync(path)) {
      writeFileAtomic(path, `${EPOCH_LOG_COLUMNS.join('\t')}\n`);
      return;
    }
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    const kept = lines.filter((l, i) => i === 0 || (/^\d+\t/.test(l) && Number(l.split('\t')[0]) < epochs));
    if (kept.length !== lines.length) writeFileAtomic(path, `${kept.join('\n')}\n`);
  }

  append(values: readonly (string | number)[]): void {
    writeFileAtomic(this.path, `${readFileSync(this.path, 'utf8')}${values.join('\t')}\n`);
  }
}
