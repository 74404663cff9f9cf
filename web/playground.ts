import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  ABSTAIN,
  datasetInfo,
  isDatasetName,
  loadModelFromFiles,
  loadModelFromUrl,
  Smooth,
  tfjsClassifier,
  type ModelMeta,
} from '../src/browser.js';
import { fileUrl, getSamples, type RunInfo } from './api.js';
import { clearChart, drawChart } from './chart.js';
import { certifyWithVotes, gapSamples, perturbTowardRunnerUp, type Certification, type Settings } from './experiments.js';
import { drawingPad, paint } from './images.js';

/** Noise draws behind the gap histogram: enough for its shape, few enough to stay quick on a big n. */
const MAX_GAP_DRAWS = 1000;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const numberOf = (id: string) => Number($<HTMLInputElement>(id).value);

interface Loaded {
  model: LayersModel;
  meta: ModelMeta;
  classNames: string[];
}
interface Picked {
  pixels: Float32Array;
  label?: number;
  stream: number;
  name: string;
}

/** The playground: a model, an image, and CERTIFY, Figure 1 and a perturbation computed in the page. */
export function startPlayground(setStatus: (text: string) => void, selectEngine: (name: string) => Promise<void>) {
  let loaded: Loaded | undefined;
  let picked: Picked | undefined;
  let certified: { result: Certification; x: Float32Array; settings: Settings } | undefined;
  let running: AbortController | undefined;
  const pad = drawingPad($<HTMLCanvasElement>('draw'));
  const modelSelect = $<HTMLSelectElement>('model-select');

  const className = (c: number) => (c === ABSTAIN ? 'abstain' : `${c} (${loaded?.classNames[c] ?? c})`);
  const fail = (e: unknown) => setStatus(`error: ${(e as Error).message}`);

  async function useModel(load: () => Promise<{ model: LayersModel; meta: ModelMeta }>, name: string): Promise<void> {
    setStatus(`loading ${name}…`);
    loaded?.model.dispose();
    loaded = undefined;
    picked = undefined;
    const { model, meta } = await load();
    const known = isDatasetName(meta.dataset) ? datasetInfo(meta.dataset).classNames : undefined;
    loaded = { model, meta, classNames: known ?? Array.from({ length: meta.numClasses }, (_, i) => String(i)) };
    const sigma = meta.training?.sigma;
    if (typeof sigma === 'number') $<HTMLInputElement>('sigma').value = String(sigma);
    $('model-info').textContent =
      `${meta.arch} on ${meta.dataset}: ${meta.inputShape.join('×')} images, ${meta.numClasses} classes` +
      (typeof sigma === 'number' ? `, trained at σ = ${sigma}` : '');
    const [h, w, c] = meta.inputShape;
    $('draw-box').hidden = !(h === 28 && w === 28 && c === 1);
    await showSamples(meta);
    setStatus(`model ${name} loaded`);
  }

  async function showSamples(meta: ModelMeta): Promise<void> {
    const box = $('samples');
    box.replaceChildren();
    try {
      const samples = await getSamples(meta.dataset);
      for (const image of samples.images) {
        const canvas = document.createElement('canvas');
        canvas.dataset.index = String(image.index);
        canvas.title = `test image ${image.index}, label ${image.label}`;
        paint(canvas, image.pixels, samples.shape);
        canvas.addEventListener('click', () => {
          for (const other of box.querySelectorAll('canvas')) other.classList.toggle('chosen', other === canvas);
          pick({ pixels: Float32Array.from(image.pixels), label: image.label, stream: image.index, name: `test image ${image.index}` });
        });
        box.append(canvas);
      }
    } catch (e) {
      box.textContent = `${(e as Error).message}; draw an image instead${$('draw-box').hidden ? ' (28×28 models only)' : ''}.`;
    }
  }

  function pick(p: Picked): void {
    picked = p;
    certified = undefined;
    $<HTMLButtonElement>('attack').disabled = true;
    paint($<HTMLCanvasElement>('image'), p.pixels, loaded!.meta.inputShape);
    $('image-caption').textContent = p.label === undefined ? p.name : `${p.name}, label ${className(p.label)}`;
  }

  function settings(): Settings {
    return {
      sigma: numberOf('sigma'),
      n: numberOf('n'),
      n0: numberOf('n0'),
      alpha: numberOf('alpha'),
      seed: numberOf('seed'),
      batch: numberOf('batch'),
      stream: picked!.stream,
    };
  }

  async function certify(): Promise<void> {
    if (loaded === undefined || picked === undefined) throw new Error('choose a model and an image first');
    const s = settings();
    const { model, meta } = loaded;
    const x = picked.pixels;
    running = new AbortController();
    $<HTMLButtonElement>('stop').disabled = false;
    $<HTMLButtonElement>('certify').disabled = true;
    setStatus(`certifying with n = ${s.n}…`);
    const started = performance.now();
    try {
      const result = await certifyWithVotes(model, x, s, running.signal);
      certified = { result, x, settings: s };
      showCertification(result, s, (performance.now() - started) / 1000);
      $('noisy').replaceChildren(
        ...result.copies.map((copy, i) => {
          const figure = document.createElement('figure');
          const canvas = document.createElement('canvas');
          canvas.className = 'pixel';
          paint(canvas, copy, meta.inputShape);
          const caption = document.createElement('figcaption');
          caption.textContent = `x + δ${i + 1}`;
          figure.append(canvas, caption);
          return figure;
        }),
      );
      const y = picked.label ?? result.counts.indexOf(Math.max(...result.counts));
      const gaps = await gapSamples(model, x, y, Math.min(s.n, MAX_GAP_DRAWS), s);
      await drawVotes(result);
      await drawGaps(gaps, y);
      const radius = result.radius;
      if (radius > 0) $<HTMLInputElement>('epsilon').value = (0.9 * radius).toFixed(3);
      $<HTMLButtonElement>('attack').disabled = result.prediction === ABSTAIN;
      setStatus(`certified in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      running = undefined;
      $<HTMLButtonElement>('stop').disabled = true;
      $<HTMLButtonElement>('certify').disabled = false;
    }
  }

  function showCertification(r: Certification, s: Settings, seconds: number): void {
    const el = $('result');
    el.dataset.prediction = String(r.prediction);
    el.dataset.nA = String(r.nA);
    el.dataset.radius = String(r.radius);
    el.dataset.counts = JSON.stringify(r.counts);
    el.dataset.selection = JSON.stringify(r.selection);
    const verdict =
      r.prediction === ABSTAIN
        ? `<b class="bad">abstain</b>: the lower bound p̲_A = ${r.pABar.toFixed(4)} is not above ½`
        : `<b class="ok">predict ${className(r.prediction)}</b>, certified radius <b>R = σ·Φ⁻¹(p̲_A) = ${r.radius.toFixed(4)}</b>`;
    const correct =
      picked?.label === undefined || r.prediction === ABSTAIN
        ? ''
        : r.prediction === picked.label
          ? ' — correct'
          : ' — <span class="bad">wrong</span>';
    el.innerHTML =
      `${verdict}${correct}<br>n_A = ${r.nA} of n = ${s.n} votes, p̲_A = ${r.pABar.toFixed(4)} ` +
      `(Clopper–Pearson, 1 − α = ${1 - s.alpha}); σ = ${s.sigma}, seed ${s.seed}, stream ${s.stream}; ${seconds.toFixed(1)} s`;
  }

  async function drawVotes(r: Certification): Promise<void> {
    const values = r.counts.map((count, c) => ({ class: className(c), count, top: c === r.prediction }));
    await drawChart($('votes'), {
      width: 300,
      height: 200,
      background: 'white',
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'class', type: 'nominal', sort: null, title: null, axis: { labelAngle: -40 } },
        y: { field: 'count', type: 'quantitative', title: 'votes' },
        color: { field: 'top', type: 'nominal', legend: null, scale: { domain: [false, true], range: ['#9aa9bb', '#e0651b'] } },
        tooltip: [{ field: 'class' }, { field: 'count' }],
      },
    });
  }

  async function drawGaps(gaps: Float64Array, y: number): Promise<void> {
    await drawChart($('gaps'), {
      width: 300,
      height: 200,
      background: 'white',
      data: { values: Array.from(gaps, (gap) => ({ gap })) },
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'gap', type: 'quantitative', bin: { maxbins: 40 }, title: `log F_${y}(x+δ) − max_{c≠${y}} log F_c(x+δ)` },
            y: { aggregate: 'count', type: 'quantitative', title: 'noise draws' },
          },
        },
        { mark: { type: 'rule', color: '#b00020' }, encoding: { x: { datum: 0 } } },
      ],
    });
  }

  async function attack(): Promise<void> {
    if (loaded === undefined || certified === undefined) throw new Error('certify an image first');
    const { result, x, settings: s } = certified;
    const epsilon = numberOf('epsilon');
    setStatus('perturbing…');
    const { adversarial, target } = perturbTowardRunnerUp(loaded.model, x, result.prediction, epsilon, numberOf('steps'), s);
    paint($<HTMLCanvasElement>('perturbed'), adversarial, loaded.meta.inputShape);
    let norm = 0;
    for (let i = 0; i < x.length; i++) norm += (adversarial[i]! - x[i]!) ** 2;
    norm = Math.sqrt(norm);
    const smooth = new Smooth(tfjsClassifier(loaded.model), s.sigma, s.seed);
    const after = await smooth.predict(adversarial, s.n, s.alpha, s.batch, s.stream);
    const el = $('attack-result');
    el.dataset.prediction = String(after.prediction);
    el.dataset.norm = String(norm);
    const inside = norm < result.radius;
    const same = after.prediction === result.prediction;
    el.innerHTML =
      `moved ‖δ‖₂ = ${norm.toFixed(4)} toward class ${className(target)} ` +
      `(${inside ? 'inside' : 'outside'} the certified radius ${result.radius.toFixed(4)})<br>` +
      `smoothed prediction at x + δ (PREDICT, n = ${s.n}): <b>${className(after.prediction)}</b> ` +
      `(top votes ${after.top[0]} vs ${after.top[1]}) — ` +
      (inside
        ? same
          ? '<span class="ok">unchanged, as certified</span>'
          : after.prediction === ABSTAIN
            ? 'PREDICT abstained (too few votes to separate the top two)'
            : '<span class="bad">changed: the certificate failed, which happens with probability ≤ α</span>'
        : same
          ? 'still unchanged, though nothing is guaranteed out here'
          : 'changed: outside the radius nothing is guaranteed');
    setStatus('perturbation done');
  }

  $('certify').addEventListener(
    'click',
    () =>
      void certify().catch((e) => {
        if ((e as Error).name === 'AbortError') setStatus('stopped');
        else fail(e);
      }),
  );
  $('stop').addEventListener('click', () => running?.abort());
  $('attack').addEventListener('click', () => void attack().catch(fail));
  $('draw-clear').addEventListener('click', () => pad.clear());
  $('draw-use').addEventListener('click', () => {
    for (const other of $('samples').querySelectorAll('canvas')) other.classList.remove('chosen');
    pick({ pixels: pad.read(), stream: 0, name: 'your drawing' });
  });
  modelSelect.addEventListener('change', () => {
    const id = modelSelect.value;
    if (id !== '') void useModel(() => loadModelFromUrl(fileUrl(id, '')), id).catch(fail);
  });
  $<HTMLInputElement>('model-files').addEventListener('change', (event) => {
    const files = (event.target as HTMLInputElement).files;
    if (files !== null && files.length > 0) void useModel(() => loadModelFromFiles(files), 'from files').catch(fail);
  });
  $<HTMLSelectElement>('backend').addEventListener('change', (event) => {
    const name = (event.target as HTMLSelectElement).value;
    void selectEngine(name)
      .then(() => setStatus(`engine: ${name}`))
      .catch(fail);
  });
  clearChart($('votes'), '');
  clearChart($('gaps'), '');

  /** Offers the models found among the runs; called on every poll of the run list. */
  return function updateModels(runs: RunInfo[]): void {
    const ids = runs.filter((r) => r.files.some((f) => f.kind === 'model' && f.error === undefined)).map((r) => r.id);
    const current = [...modelSelect.options].map((o) => o.value).filter((v) => v !== '');
    if (ids.join('\n') === current.join('\n')) return;
    const chosen = modelSelect.value;
    modelSelect.replaceChildren(
      new Option(ids.length === 0 ? 'no model in the runs folder' : 'choose a model…', ''),
      ...ids.map((id) => new Option(id, id)),
    );
    modelSelect.value = ids.includes(chosen) ? chosen : '';
  };
}
