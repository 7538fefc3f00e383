// HDR histograms of microseconds, passed between processes as compressed base64.
import * as hdr from 'hdr-histogram-js';

export const newHist = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
export const encodeHist = (h) => hdr.encodeIntoCompressedBase64(h);
export const decodeHist = (s) => hdr.decodeFromCompressedBase64(s);

/** Merges encoded histograms into one summary in milliseconds. */
export function summary(encoded) {
  const h = newHist();
  for (const e of encoded) if (e) h.add(decodeHist(e));
  const ms = (p) => Math.round(h.getValueAtPercentile(p) / 10) / 100;
  return { count: h.totalCount, p50: ms(50), p90: ms(90), p99: ms(99), max: Math.round(h.maxValue / 10) / 100 };
}
