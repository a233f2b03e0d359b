/**
 * A virtualised log: a scroll box as tall as all the lines, rendering only
 * the rows in sight (plus a few). Follows the end while scrolled to the
 * bottom; scrolling up stops following until you return to the end.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { lineAt, lineCount, matches, version } from "../models/logs";

const ROW = 20; // px, matches .log-row in CSS
const OVERSCAN = 20;

function Highlight({ text, q }: { text: string; q: string }) {
  if (!q) return <>{text || " "}</>;
  const lower = text.toLowerCase();
  const out = [];
  let i = 0;
  for (;;) {
    const j = lower.indexOf(q, i);
    if (j < 0) break;
    out.push(text.slice(i, j), <mark key={j}>{text.slice(j, j + q.length)}</mark>);
    i = j + q.length;
  }
  out.push(text.slice(i));
  return <>{out}</>;
}

export function LogView({ query, label }: { query: string; label: string }) {
  void version.value; // re-render when lines arrive
  const hits = matches.value;
  const total = hits ? hits.length : lineCount();
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(400);
  const stick = useRef(true);

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Follow the end when the person hasn't scrolled away from it.
  useLayoutEffect(() => {
    const el = box.current!;
    if (stick.current) {
      el.scrollTop = el.scrollHeight;
      setTop(el.scrollTop);
    }
  }, [total]);

  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(total, Math.ceil((top + height) / ROW) + OVERSCAN);
  const q = query.trim().toLowerCase();
  const rows = [];
  for (let i = first; i < last; i++) {
    const n = hits ? hits[i]! : i;
    rows.push(
      <div class="log-row" key={n} style={{ transform: `translateY(${i * ROW}px)` }}>
        <span class="ln" aria-hidden="true">
          {n + 1}
        </span>
        <span class="lt">
          <Highlight text={lineAt(n)} q={q} />
        </span>
      </div>,
    );
  }
  return (
    <div
      class="log"
      ref={box}
      tabIndex={0}
      role="log"
      aria-label={label}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW;
        setTop(el.scrollTop);
      }}
    >
      <div class="log-space" style={{ height: `${total * ROW}px` }}>
        {rows}
      </div>
    </div>
  );
}
