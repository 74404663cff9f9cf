import { closeSync, existsSync, fdatasyncSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

/**
 * An append-only TSV of per-example results that survives crashes: one line is written and
 * flushed per example, so after a kill the file holds whole lines plus at most one torn
 * line, which reopening cuts off. The run's settings are kept beside it (FILE.json) so a
 * resumed run cannot silently mix results of different settings.
 */
export class ResultLog {
  private constructor(private readonly fd: number, readonly done: ReadonlySet<number>) {}

  /**
   * Opens `path` for appending: a new or empty log is started with `columns` as header and
   * this run's settings; a log with results is resumed if its settings are the same.
   */
  static open(path: string, columns: readonly string[], settings: Record<string, unknown>): ResultLog {
    const header = columns.join('\t');
    const settingsPath = `${path}.json`;
    if (existsSync(path) && statSync(path).isDirectory()) {
      throw new UserError(`--out ${path} is a folder; give a file name, e.g. ${join(path, 'certify.tsv')}`);
    }
    mkdirSync(dirname(path), { recursive: true });
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const end = text.lastIndexOf('\n') + 1;
    const lines = text.slice(0, end).split('\n').slice(0, -1);
    if (lines.length > 0 && lines[0] !== header) {
      throw new UserError(`${path} exists with header "${lines[0]}" but this command writes "${header}"; choose another --out`);
    }
    const done = new Set<number>();
    if (lines.length > 1) {
      checkSettings(settingsPath, settings, path);
      for (const line of lines.slice(1)) done.add(Number(line.split('\t', 1)[0]));
    } else {
      writeFileAtomic(settingsPath, `${JSON.stringify(settings, null, 2)}\n`);
    }
    if (end < text.length) truncateSync(path, end); // a torn last line from a killed run
    const log = new ResultLog(openSync(path, 'a'), done);
    if (lines.length === 0) log.writeLine(header);
    return log;
  }

  /** Appends one row and flushes it to disk before returning. */
  append(values: readonly (string | number)[]): void {
    this.writeLine(values.join('\t'));
  }

  close(): void {
    closeSync(this.fd);
  }

  private writeLine(line: string): void {
    const bytes = Buffer.from(`${line}\n`);
    // One write call per line keeps the line whole unless the process dies mid-call.
    for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off);
    fdatasyncSync(this.fd);
  }
}

function checkSettings(settingsPath: string, settings: Record<string, unknown>, path: string): void {
  if (!existsSync(settingsPath)) return;
  const previous = JSON.parse(readFileSync(settingsPath, 'utf8')) as Record<string, unknown>;
  for (const [k, v] of Object.entries(settings)) {
    if (JSON.stringify(previous[k]) !== JSON.stringify(v)) {
      throw new UserError(`${path} was started with ${k} = ${JSON.stringify(previous[k])}, but this run has ${k} = ${JSON.stringify(v)}; rerun with the same settings to resume, or choose another --out`);
    }
  }
}
