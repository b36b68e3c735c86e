import { formatBytes } from "./output.js";

/** Uploads at least this large get a progress bar (when stderr is a terminal). */
export const PROGRESS_THRESHOLD_BYTES = 1024 * 1024;

const WIDTH = 30;

/**
 * A one-line progress bar redrawn with `\r`; returns undefined when no bar should be shown (not a
 * terminal, or a small upload), so callers pass it straight to the upload.
 */
export function createUploadProgress(
  write: (text: string) => void,
  isTTY: boolean,
  totalBytes: number,
  label = "uploading",
): ((sent: number, total: number) => void) | undefined {
  if (!isTTY || totalBytes <= PROGRESS_THRESHOLD_BYTES) return undefined;
  let lastPercent = -1;
  return (sent, total) => {
    const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
    if (percent === lastPercent) return;
    lastPercent = percent;
    const filled = Math.round((percent / 100) * WIDTH);
    const bar = "#".repeat(filled) + "-".repeat(WIDTH - filled);
    write(
      `\r${label} [${bar}] ${String(percent).padStart(3)}% ${formatBytes(sent)} / ${formatBytes(total)}`,
    );
    if (sent >= total) write("\n");
  };
}
