/** Paints an H×W×C image with values in [0, 1] (clamped: noisy copies leave the range) onto `canvas`. */
export function paint(canvas: HTMLCanvasElement, pixels: ArrayLike<number>, shape: readonly number[]): void {
  const [h, w, c] = shape as [number, number, number];
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const data = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = pixels[p * c + (c === 1 ? 0 : k)]!;
      data.data[p * 4 + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    data.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

/**
 * A 28×28 drawing pad: white strokes on black, as MNIST-like digits and garments are stored. The
 * brush paints a soft 2-pixel dot, so strokes look like the dataset's anti-aliased ones.
 */
export function drawingPad(canvas: HTMLCanvasElement): { read(): Float32Array; clear(): void } {
  const size = canvas.width;
  const pixels = new Float32Array(size * size);
  const show = () => paint(canvas, pixels, [size, size, 1]);
  const dab = (event: PointerEvent) => {
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * size;
    const y = ((event.clientY - rect.top) / rect.height) * size;
    for (let i = Math.floor(y) - 2; i <= Math.floor(y) + 2; i++) {
      for (let j = Math.floor(x) - 2; j <= Math.floor(x) + 2; j++) {
        if (i < 0 || j < 0 || i >= size || j >= size) continue;
        const strength = Math.max(0, 1 - Math.hypot(i + 0.5 - y, j + 0.5 - x) / 2);
        pixels[i * size + j] = Math.min(1, pixels[i * size + j]! + strength);
      }
    }
    show();
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    dab(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (canvas.hasPointerCapture(e.pointerId)) dab(e);
  });
  show();
  return {
    read: () => pixels.slice(),
    clear: () => {
      pixels.fill(0);
      show();
    },
  };
}
