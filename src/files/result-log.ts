import {
  closeSync,
  copyFileSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  statSync,
  truncateSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { SettingError, UserError } from '../base/errors.js';
import { writeFileAtomic } from './atomic.js';
import { sameFile } from './output-path.js';

/** The first line of a result TSV: `# smoothcert <command> <settings as JSON>`. */
const SETTINGS_PREFIX = '# smoothcert ';

/**
 * Settings recorded only by later versions: a file made before one was recorded (its settings
 * line lacks it) resumes whatever the run's value, as it did when it was made.
 */
const RECORDED_LATER: ReadonlySet<string> = new Set(['batch']);

/** Settings that decide which rows a run writes and what is in them; equal settings may resume. */
export type RunSettings = Record<string, string | number | boolean | null | readonly number[]>;

/**
 * An append-only TSV of per-example results that survives crashes: one line is written and
 * flushed per example, so after a kill the file holds whole lines plus at most one torn line,
 * which reopening cuts off. The run's settings are the file's first line (a `#` comment before
 * the column header), so they travel with the rows: a resumed run with other settings is refused
 * whatever happened to files beside it. A file with rows but no settings line (an earlier
 * version kept them in a FILE.json beside it) cannot be resumed.
 */
export class ResultLog {
  /** The inode opened, and how long this process knows the file to be: what the path must still name. */
  private readonly opened: Stats;
  private size: number;

  private constructor(
    private readonly path: string,
    private readonly fd: number,
    readonly done: ReadonlySet<number>,
  ) {
    this.opened = fstatSync(fd);
    this.size = this.opened.size;
  }

  /**
   * Opens `path` for appending: a new file (or one with no results yet) is started with the
   * settings line and `columns` as header; a file with results is resumed if its settings are
   * the same. Problems that another output file solves are SettingErrors of the key `out`.
   */
  static open(path: string, command: string, columns: readonly string[], settings: RunSettings): ResultLog {
    const another = (name: (key: string) => string) => `choose another ${name('out')}`;
    if (existsSync(path) && statSync(path).isDirectory()) {
      throw new SettingError('out', (name) => `${name('out')} ${path} is a folder; give a file name, e.g. ${join(path, `${command}.tsv`)}`);
    }
    mkdirSync(dirname(path), { recursive: true });
    const header = columns.join('\t');
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const end = text.lastIndexOf('\n') + 1;
    const lines = text.slice(0, end).split('\n').slice(0, -1);
    const saved = lines[0]?.startsWith(SETTINGS_PREFIX) ? parseSettingsLine(lines.shift()!, path) : undefined;
    if (lines.length > 0 && lines[0] !== header) {
      throw new SettingError(
        'out',
        (name) => `${path} exists with header "${lines[0]}" but this command writes "${header}"; ${another(name)}`,
      );
    }
    const rows = lines.slice(1);
    if (rows.length === 0) {
      // Nothing to keep: start the file afresh with this run's settings.
      writeFileAtomic(path, `${settingsLine(command, settings)}\n${header}\n`);
      return new ResultLog(path, openSync(path, 'a'), new Set());
    }
    if (saved === undefined) {
      throw new SettingError(
        'out',
        (name) =>
          `${path} holds results but no record of the settings that made them (its first line is not a settings line), ` +
          `so a resumed run could mix settings; ${another(name)}`,
      );
    }
    if (saved.command !== command) {
      throw new SettingError('out', (name) => `${path} holds ${String(saved.command)} results, not ${command} results; ${another(name)}`);
    }
    // Both ways: a setting recorded only when it differs from its default (precision) must not
    // be dropped silently by a run that leaves it at the default.
    for (const k of new Set([...Object.keys(settings), ...Object.keys(saved.settings)])) {
      if (!(k in saved.settings) && RECORDED_LATER.has(k)) continue;
      const was = JSON.stringify(saved.settings[k] ?? null),
        is = JSON.stringify(settings[k] ?? null);
      if (was !== is) {
        // A setting recorded only away from its default (precision) reads as its default where absent.
        const shown = (v: string) => (v === 'null' ? 'its default' : v);
        throw new SettingError(
          k,
          (name) =>
            `${path} was made with ${name(k)} ${shown(was)}, but this run has ${name(k)} ${shown(is)}; ` +
            `rerun with the same settings to resume, or ${another(name)}`,
        );
      }
    }
    if (end < text.length) truncateSync(path, end); // a torn last line from a killed run
    return new ResultLog(path, openSync(path, 'a'), new Set(rows.map((line) => Number(line.split('\t', 1)[0]))));
  }

  /**
   * Appends one row and flushes it to disk before returning. First checks that the path still
   * names the file this run opened, at the length it left it: a file moved, deleted, replaced or
   * truncated by someone else stops the run with one line saying what happened (the rows written
   * so far are where the message says), instead of writing into a file nobody will read.
   */
  append(values: readonly (string | number)[]): void {
    this.checkStillOurs();
    const bytes = Buffer.from(`${values.join('\t')}\n`);
    // One write call per line keeps the line whole unless the process dies mid-call.
    for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off);
    fdatasyncSync(this.fd);
    this.size += bytes.length;
  }

  private checkStillOurs(): void {
    const now = fstatSync(this.fd);
    if (sameFile(this.path, this.opened)) {
      if (now.size >= this.size) return;
      throw new UserError(
        `${this.path} was truncated by another process while this run wrote it (${now.size} of ${this.size} bytes left); ` +
          'the rows cut off are lost from it: rerun the same command to redo them',
      );
    }
    // Linux names an open file's current path, or its last one with " (deleted)".
    let current: string | undefined;
    try {
      current = readlinkSync(`/proc/self/fd/${this.fd}`);
    } catch {
      /* not Linux */
    }
    if (current !== undefined && !current.endsWith(' (deleted)')) {
      throw new UserError(
        `${this.path} was moved to ${current} while this run wrote it; its rows are there: move it back and rerun to resume`,
      );
    }
    // Deleted (or replaced): the rows are only in the open file; put them back where they were.
    const rescue = existsSync(this.path) ? `${this.path}.recovered-${process.pid}` : this.path;
    copyFileSync(`/proc/self/fd/${this.fd}`, rescue);
    throw new UserError(
      `${this.path} was ${rescue === this.path ? 'deleted' : 'replaced by another file'} while this run wrote it; ` +
        `its ${this.size} bytes of rows are saved in ${rescue}${rescue === this.path ? ': rerun the same command to resume' : ''}`,
    );
  }

  close(): void {
    closeSync(this.fd);
  }
}

function settingsLine(command: string, settings: RunSettings): string {
  return `${SETTINGS_PREFIX}${command} ${JSON.stringify(settings)}`;
}

function parseSettingsLine(line: string, path: string): { command: string; settings: RunSettings } {
  const rest = line.slice(SETTINGS_PREFIX.length);
  const space = rest.indexOf(' ');
  try {
    return { command: rest.slice(0, space), settings: JSON.parse(rest.slice(space + 1)) as RunSettings };
  } catch {
    throw new SettingError('out', (name) => `${path}: its first line (the run's settings) is corrupt; choose another ${name('out')}`);
  }
}
