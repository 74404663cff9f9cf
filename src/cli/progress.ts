import cliProgress from 'cli-progress';

/** Progress on stderr: a live bar on a terminal, an occasional plain line in logs. */
export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progress(label: string, total: number, unit: string, start = 0): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}{extra}`,
        stream: process.stderr,
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const began = Date.now();
    bar.start(total, start, { rate: '0', extra: '' });
    return {
      update(done, fields) {
        const rate = (done - start) / Math.max((Date.now() - began) / 1000, 1e-3);
        const extra = fields
          ? ` | ${Object.entries(fields)
              .map(([k, v]) => `${k} ${v}`)
              .join(' ')}`
          : '';
        bar.update(done, { rate: rate.toFixed(rate < 10 ? 2 : 0), extra });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let lastPrint = 0;
  const began = Date.now();
  return {
    update(done, fields) {
      const now = Date.now();
      if (now - lastPrint < 10_000 && done < total) return;
      lastPrint = now;
      const rate = (done - start) / Math.max((now - began) / 1000, 1e-3);
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const extra = fields
        ? ` ${Object.entries(fields)
            .map(([k, v]) => `${k} ${v}`)
            .join(' ')}`
        : '';
      process.stderr.write(
        `${label}: ${done}/${total} ${unit}, ${rate.toFixed(2)} ${unit}/s, ETA ${Number.isFinite(eta) ? eta.toFixed(0) : '?'} s${extra}\n`,
      );
    },
    stop() {},
  };
}
