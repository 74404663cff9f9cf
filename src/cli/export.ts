import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../base/errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { outputTarget } from '../files/output-path.js';
import { useBackend } from './backend-option.js';
import { META_FILE, MODEL_FILE } from '../base/run-folder.js';
import { loadModel } from '../files/model-folder.js';
import { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from '../onnx/export.js';

interface ExportOptions {
  model: string;
  out: string;
  force?: boolean;
}

async function exportCommand(opts: ExportOptions, version: string): Promise<void> {
  outputTarget(opts.out, 'file', 'out');
  const outDir = dirname(opts.out);
  if (!existsSync(outDir)) throw new UserError(`--out ${opts.out}: directory ${outDir} does not exist; create it first`);
  if (existsSync(opts.out) && statSync(opts.out).isDirectory())
    throw new UserError(`--out ${opts.out} is a directory; give a file name such as model.onnx`);
  // A model folder's files are its own: an .onnx file written there could replace model.json or a weights file.
  if ([META_FILE, MODEL_FILE].some((f) => existsSync(join(outDir, f)))) {
    throw new UserError(`--out ${opts.out} is inside a model folder (${outDir}); write the .onnx file elsewhere`);
  }
  if (existsSync(opts.out) && !opts.force)
    throw new UserError(`--out ${opts.out} already exists; pass --force to replace it, or choose another name`);
  // Export only copies weights out, which any engine does exactly: tfjs's plain CPU backend needs no setup.
  await useBackend('cpu');
  const { model, meta } = await loadModel(opts.model);
  const sigma = meta.training?.sigma;
  const bytes = exportOnnx(model, {
    producerVersion: version,
    metadata: {
      arch: meta.arch,
      dataset: meta.dataset,
      input_layout: 'nhwc',
      ...(typeof sigma === 'number' ? { sigma: String(sigma) } : {}),
    },
  });
  model.dispose();
  writeFileAtomic(opts.out, bytes);
  const [h, w, c] = meta.inputShape;
  process.stdout.write(
    `wrote ${opts.out} (${bytes.length} bytes): ${meta.arch} for ${meta.dataset}, input '${ONNX_INPUT}' float32 [batch, ${h}, ${w}, ${c}] ` +
      `NHWC in [0, 1], output '${ONNX_OUTPUT}' [batch, ${meta.numClasses}]\n`,
  );
}

/** `smoothcert export`: a trained smoothcert model as an ONNX file for any ONNX runtime. */
export function register(program: Command): void {
  program
    .command('export')
    .summary('write a smoothcert model as an ONNX file')
    .description(
      'Writes a smoothcert model folder as an ONNX graph (opset 13) with the normalization inside it. ' +
        'The graph takes float32 NHWC images [batch, H, W, C] in [0, 1] pixel space with a dynamic batch ' +
        'dimension and returns logits [batch, classes].',
    )
    .requiredOption('--model <dir>', 'smoothcert model folder (from `smoothcert train`)')
    .requiredOption('--out <file>', 'the .onnx file to write (never inside a model folder)')
    .option('--force', 'replace --out if it exists (atomically)')
    .addHelpText(
      'after',
      `
The exported graph expects NHWC input with normalization inside, so certify it with:
  smoothcert certify --model model.onnx --input-layout nhwc ...   (no --mean/--std)

Examples:
  smoothcert export --model runs/cifar-consistency --out cifar.onnx`,
    )
    .action((opts: ExportOptions) => exportCommand(opts, program.version() ?? ''));
}
