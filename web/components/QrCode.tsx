/**
 * A QR code drawn as one SVG path from the module matrix that `uqr` encodes
 * (an SVG element in the DOM: no data URL, no inline style, CSP-clean).
 */
import { encode } from "uqr";

export function QrCode({ text, label, size = 208 }: { text: string; label: string; size?: number }) {
  const { data } = encode(text, { ecc: "M", border: 2 });
  const n = data.length;
  let d = "";
  for (let y = 0; y < n; y++) {
    const row = data[y]!;
    for (let x = 0; x < n; x++) {
      if (!row[x]) continue;
      let run = 1;
      while (x + run < n && row[x + run]) run++;
      d += `M${x} ${y}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  return (
    <svg class="qr" role="img" aria-label={label} viewBox={`0 0 ${n} ${n}`} width={size} height={size} shape-rendering="crispEdges">
      <rect width={n} height={n} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}
