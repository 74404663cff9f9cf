import {
  averageCertifiedRadius,
  certifiedAccuracy,
  parseCertifyTsv,
  parseTrainingLog,
  plotSpec,
  radiusGrid,
  trainingPlotSpec,
  type CertifyRow,
  type EpochRow,
} from '../src/browser.js';
import { fileUrl, getRuns, getText, type RunFile, type RunInfo } from './api.js';
import { clearChart, drawChart } from './chart.js';

/** How often the run list is polled: a run that is still writing shows its new lines this soon. */
const POLL_MS = 3000;
/** The table's radii (analyze's default grid, cut at 1). */
const TABLE_RADII = radiusGrid(0.25, 1);

type Parsed = { kind: 'certify'; rows: CertifyRow[] } | { kind: 'log'; rows: EpochRow[] };

const $ = (id: string) => document.getElementById(id)!;

/**
 * The dashboard: lists the runs, keeps the ticked certify TSVs and training logs parsed (by the
 * library's own parsers, so the numbers are analyze's) and redraws the charts whenever a ticked
 * file changes on disk.
 */
export function startDashboard(setStatus: (text: string) => void, onRuns: (runs: RunInfo[]) => void): void {
  const ticked = new Set<string>();
  const seen = new Set<string>();
  const parsed = new Map<string, { version: string; data: Parsed | Error }>();
  let runs: RunInfo[] = [];

  const keyOf = (run: RunInfo, file: RunFile) => `${run.id}/${file.name}`;
  const plottable = (file: RunFile) => file.kind === 'certify' || file.kind === 'log';

  async function refresh(): Promise<void> {
    try {
      const answer = await getRuns();
      runs = answer.runs;
      $('runs-root').textContent = answer.root;
    } catch (e) {
      setStatus(`cannot reach the server: ${(e as Error).message}`);
      return;
    }
    for (const run of runs) {
      for (const file of run.files) {
        const key = keyOf(run, file);
        // A file seen for the first time is plotted unless it has a problem; later the user decides.
        if (!seen.has(key)) {
          seen.add(key);
          if (plottable(file) && file.error === undefined) ticked.add(key);
        }
      }
    }
    await loadTicked();
    renderList();
    onRuns(runs);
    await renderPlots();
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
  }

  async function loadTicked(): Promise<void> {
    for (const run of runs) {
      for (const file of run.files) {
        const key = keyOf(run, file);
        if (!ticked.has(key) || parsed.get(key)?.version === file.version) continue;
        let data: Parsed | Error;
        try {
          const text = await getText(fileUrl(run.id, file.name));
          data =
            file.kind === 'log'
              ? { kind: 'log', rows: parseTrainingLog(text, key) }
              : { kind: 'certify', rows: parseCertifyTsv(text, key) };
        } catch (e) {
          data = e as Error;
        }
        parsed.set(key, { version: file.version, data });
      }
    }
  }

  function renderList(): void {
    const list = $('runs-list');
    list.replaceChildren(
      ...runs.map((run) => {
        const box = document.createElement('div');
        box.className = 'run';
        box.dataset.run = run.id;
        const title = document.createElement('h3');
        title.textContent = run.id;
        box.append(title, ...run.files.map((file) => fileRow(run, file)));
        return box;
      }),
    );
    if (runs.length === 0) list.textContent = 'No runs yet: train with --out inside the runs folder, or copy certify TSVs into it.';
  }

  function fileRow(run: RunInfo, file: RunFile): HTMLElement {
    const key = keyOf(run, file);
    const row = document.createElement('div');
    row.className = 'file-row';
    row.dataset.key = key;
    if (plottable(file)) {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = ticked.has(key);
      box.addEventListener('change', () => {
        if (box.checked) ticked.add(key);
        else ticked.delete(key);
        void loadTicked().then(renderPlots);
      });
      row.append(box);
    }
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = file.name;
    const summary = document.createElement('span');
    summary.className = file.error === undefined ? 'summary' : 'problem';
    summary.textContent = file.error ?? describe(file);
    row.append(name, summary);
    return row;
  }

  async function renderPlots(): Promise<void> {
    const certify: { label: string; rows: CertifyRow[] }[] = [];
    const logs: { label: string; rows: EpochRow[] }[] = [];
    for (const key of [...ticked].sort()) {
      const data = parsed.get(key)?.data;
      if (data === undefined || data instanceof Error) continue;
      if (data.kind === 'certify') certify.push({ label: key, rows: data.rows });
      else if (data.rows.length > 0) logs.push({ label: key, rows: data.rows });
    }
    renderTable(certify);
    await Promise.all([
      certify.length > 0
        ? drawChart($('plot-certify'), plotSpec(certify))
        : clearChart($('plot-certify'), 'Tick a certify TSV to plot it.'),
      logs.length > 0
        ? drawChart($('plot-acc'), trainingPlotSpec(logs, 'acc'))
        : clearChart($('plot-acc'), 'Tick a training log to plot it.'),
      logs.length > 0 ? drawChart($('plot-loss'), trainingPlotSpec(logs, 'loss')) : clearChart($('plot-loss'), ''),
    ]);
  }

  function renderTable(certify: { label: string; rows: CertifyRow[] }[]): void {
    const table = $('acr-table');
    const head = `<tr><th>file</th><th>examples</th><th>ACR</th>${TABLE_RADII.map((r) => `<th>r = ${r.toFixed(2)}</th>`).join('')}</tr>`;
    table.innerHTML = head;
    for (const { label, rows } of certify) {
      const tr = document.createElement('tr');
      tr.dataset.file = label;
      const cells = [
        label,
        String(rows.length),
        averageCertifiedRadius(rows).toFixed(3),
        ...certifiedAccuracy(rows, TABLE_RADII).map((a) => `${(100 * a).toFixed(1)} %`),
      ];
      for (const [i, text] of cells.entries()) {
        const td = document.createElement('td');
        td.textContent = text;
        if (i === 2) td.className = 'acr';
        tr.append(td);
      }
      table.append(tr);
    }
  }

  void refresh();
  setInterval(() => void refresh(), POLL_MS);
}

/** One line about a file, from the server's summary. */
function describe(file: RunFile): string {
  const s = file.summary ?? {};
  const pct = (v: unknown) => `${(100 * Number(v)).toFixed(1)} %`;
  switch (file.kind) {
    // log.tsv holds accuracies in percent already (as the reference's log does); TSV accuracies are fractions.
    case 'log':
      return `${s.epochs} epochs${s.testAcc === undefined ? '' : `, test accuracy ${Number(s.testAcc).toFixed(1)} %`}`;
    case 'certify':
      return `${s.examples} examples, ACR ${Number(s.acr).toFixed(3)}`;
    case 'predict':
      return `${s.examples} examples, accuracy ${pct(s.accuracy)}`;
    case 'model': {
      const training = s.training as Record<string, unknown>;
      // A model trained in bf16 says so; fp32 (or a model from before the setting) says nothing.
      const bf16 = training.precision === 'bf16' ? ', trained in bf16' : '';
      return `model ${s.arch} on ${s.dataset}${training.method === undefined ? '' : `, ${training.method}`}${training.sigma === undefined ? '' : `, σ = ${training.sigma}`}${bf16}`;
    }
  }
}
