import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
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

  /** Opens `path` for appending, creating it with `columns` as header, or resuming it. */
  static open(path: string, columns: readonly string[], settings: Record<string, unknown>): ResultLog {
    const header = columns.join('\t');
    const settingsPath = `${path}.json`;
    const done = new Set<number>();
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const end = text.lastIndexOf('\n') + 1;
      const lines = text.slice(0, end).split('\n').slice(0, -1);
      if (lines.length === 0 && end === 0 && text.length > 0) {
        throw new UserError(`${path} has no complete header line; delete it or choose another --out`);
      }
      if (lines.length > 0 && lines[0] !== header) {
        throw new UserError(`${path} exists with header "${lines[0]}" but this command writes "${header}"; choose another --out`);
      }
      checkSettings(settingsPath, settings, path);
      for (const line of lines.slice(1)) done.add(Number(line.split('\t', 1)[0]));
      if (end < text.length) truncateSync(path, end); // a torn last line from a killed run
    }
    if (!existsSync(settingsPath)) writeFileAtomic(settingsPath, `${JSON.stringify(settings, null, 2)}\n`);
    const fd = openSync(path, 'a');
    const log = new ResultLog(fd, done);
    if (!existsSync(path) || readFileSync(path).length === 0) log.writeLine(header);
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
