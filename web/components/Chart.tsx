/**
 * A time-series chart (uPlot on a canvas). The canvas is drawn for sighted
 * people; the figure's caption names the chart and says its latest values in
 * text, so the figures are there for screen readers too. Resizes with its box.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export type ChartSeries = { label: string; values: (number | null)[]; color: string };

type Props = {
  title: string;
  /** Unix seconds, aligned with each series' values. */
  t: number[];
  series: ChartSeries[];
  /** Formats a value for the axis, the legend and the caption. */
  format: (v: number) => string;
  /** Upper end of the y scale (a limit); grows with the data when the data go above it. */
  max?: number;
};

const last = (vs: (number | null)[]) => {
  for (let i = vs.length - 1; i >= 0; i--) if (vs[i] !== null && vs[i] !== undefined) return vs[i]!;
  return null;
};

/** Dots on a series with few values (a line needs two; one sample would be invisible). */
const sparse = (u: uPlot, si: number) => (u.data[si] as (number | null)[]).filter((v) => v !== null && v !== undefined).length < 40;

export function Chart({ title, t, series, format, max }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join("|");

  useEffect(() => {
    const el = box.current!;
    // Axis text in the page's own colour (light or dark scheme).
    const fg = getComputedStyle(el).color;
    const grid = { stroke: "rgba(128,128,128,.25)", width: 1 };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          // Samples can miss a bucket now and then: join the line over it, and show dots while there are few.
          spanGaps: true,
          points: { show: sparse, size: 5, fill: s.color },
          value: (_u: uPlot, v: number | null) => (v === null ? "—" : format(v)),
        })),
      ],
      scales: { y: { range: (_u, _min, dataMax) => [0, Math.max(max ?? 0, dataMax || 0, 1e-9) * (max && dataMax <= max ? 1 : 1.1)] } },
      axes: [
        { stroke: fg, grid, ticks: grid },
        { stroke: fg, grid, ticks: grid, size: 70, values: (_u, vals) => vals.map((v) => format(v)) },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    const u = new uPlot(opts, [t, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt when the series change shape or the scale's limit changes; new data only redraw.
  }, [shape, max]);

  useEffect(() => {
    plot.current?.setData([t, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [t, series]);

  const now = series.map((s) => {
    const v = last(s.values);
    return `${s.label}: ${v === null ? "no data" : format(v)}`;
  });
  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{title}</span> <span class="muted small">{t.length === 0 ? "No samples in this range yet." : `Latest — ${now.join(", ")}`}</span>
      </figcaption>
      <div ref={box} class="chart-plot" aria-hidden="true" />
    </figure>
  );
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
export function bytes(v: number): string {
  let i = 0;
  let n = Math.abs(v);
  while (n >= 1024 && i < UNITS.length - 1) (n /= 1024), i++;
  return `${v < 0 ? "-" : ""}${i === 0 ? Math.round(n) : short(n)} ${UNITS[i]}`;
}
export const rate = (v: number) => `${bytes(v)}/s`;
/** A number with up to 3 significant digits (whole numbers from 100 on): small values stay readable on an axis. */
export const short = (v: number) => (v === 0 ? "0" : Math.abs(v) >= 100 ? Math.round(v).toLocaleString() : v.toLocaleString(undefined, { maximumSignificantDigits: 3 }));
export const percent = (v: number) => `${short(v)}%`;
