import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RunFile, RunInfo } from './api.js';
import { LOG_FILE, META_FILE } from '../base/run-folder.js';
import type { SummaryRequest } from './summary-worker.js';
/** How deep below the root runs are looked for; deeper folders are not listed. */
const MAX_DEPTH = 4;

/**
 * The runs under `root`, each with its files summarized. Symlinks are not followed (a link that
 * may lead out of the root is not listed); a file that cannot be read or parsed is
 * listed with its problem instead of failing the listing. Summaries are cached by file version,
 * so polling a folder that a run is still writing re-reads only what changed, and they are
 * computed on a worker thread (summary-worker.ts): a large file never holds up other requests.
 */
export class RunLister {
  private readonly cache = new Map<string, RunFile>();
  /** Summaries being computed, by cache key: concurrent polls share one read. */
  private readonly pending = new Map<string, Promise<RunFile>>();
  private readonly realRoot: string;
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly replies = new Map<number, (file: RunFile) => void>();
  /** What each request's file is, for the answer when the thread dies. */
  private readonly failed = new Map<number, Omit<RunFile, 'error' | 'summary'>>();

  constructor(readonly root: string) {
    this.realRoot = realpathSync(root);
  }

  async list(): Promise<RunInfo[]> {
    const found: { id: string; paths: string[] }[] = [];
    const visit = (dir: string, depth: number) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // removed while listing, or unreadable: nothing to show
      }
      const paths = entries.filter((e) => e.isFile() && (e.name.endsWith('.tsv') || e.name === META_FILE)).map((e) => join(dir, e.name));
      if (paths.length > 0) found.push({ id: relative(this.realRoot, dir).split('\\').join('/') || '.', paths });
      if (depth < MAX_DEPTH) {
        for (const e of entries)
          if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') visit(join(dir, e.name), depth + 1);
      }
    };
    visit(this.realRoot, 0);
    const runs = await Promise.all(
      found.map(async ({ id, paths }) => {
        const files = (await Promise.all(paths.map((p) => this.describe(p))))
          .filter((f): f is RunFile => f !== undefined)
          .sort((a, b) => a.name.localeCompare(b.name));
        return { id, files };
      }),
    );
    return runs.filter((r) => r.files.length > 0).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Stops the summary thread (the server's close). */
  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private async describe(path: string): Promise<RunFile | undefined> {
    let version: string;
    try {
      const stat = statSync(path);
      version = `${stat.size}-${stat.mtimeMs}`;
    } catch {
      return undefined;
    }
    const key = `${path}\0${version}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let running = this.pending.get(key);
    if (running === undefined) {
      running = this.summarize({ id: this.nextId++, path, version, shown: relative(this.realRoot, path) }).then((file) => {
        for (const old of this.cache.keys()) if (old.startsWith(`${path}\0`)) this.cache.delete(old);
        this.cache.set(key, file);
        this.pending.delete(key);
        return file;
      });
      this.pending.set(key, running);
    }
    return running;
  }

  private summarize(request: SummaryRequest): Promise<RunFile> {
    if (this.worker === undefined) {
      this.worker = new Worker(new URL('./summary-worker.js', import.meta.url));
      this.worker.unref(); // an idle summary thread never keeps the process alive
      this.worker.on('message', (m: { id: number; file: RunFile }) => {
        this.replies.get(m.id)?.(m.file);
        this.replies.delete(m.id);
      });
      // A thread that dies (out of memory on a huge file, say) fails the files it was reading, not the server.
      this.worker.on('error', (e: Error) => {
        for (const [id, reply] of this.replies) reply({ ...this.failed.get(id)!, error: `cannot summarize: ${e.message}` });
        this.replies.clear();
        this.worker = undefined;
      });
    }
    const name = request.path.slice(request.path.lastIndexOf('/') + 1);
    this.failed.set(request.id, {
      name,
      kind: name === META_FILE ? 'model' : name === LOG_FILE ? 'log' : 'certify',
      version: request.version,
    });
    return new Promise((resolve) => {
      this.replies.set(request.id, (file) => {
        this.failed.delete(request.id);
        resolve(file);
      });
      this.worker!.postMessage(request);
    });
  }
}
