/**
 * A tensor as a grid of coloured cells on one canvas (thousands of cells, no DOM node each).
 * Hovering a cell, or moving the keyboard cursor over it (arrow keys when the heatmap has focus),
 * names the cell and its value in the readout line below.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { divergingRgb } from './colour.ts';
import type { Grid } from './layout.ts';
import { showPiece } from './TokenStrip.tsx';
import { formatValue } from './values.ts';

interface Props {
  grid: Grid;
  /** The magnitude drawn at full colour. */
  scaleMax: number;
  /** What the tensor is, for the accessible name. */
  label: string;
}

interface Cell {
  r: number;
  c: number;
}

const MAX_CELL = 36;
const MIN_CELL = 3;
/** Room for row labels ("h12", "kv3"), and the smallest cells worth labelling. */
const ROW_LABEL_PX = 34;
const LABEL_MIN_CELL = 12;

export function Heatmap({ grid, scaleMax, label }: Props) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(320);
  const [hover, setHover] = useState<Cell | null>(null);
  const [cursor, setCursor] = useState<Cell | null>(null);

  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el) return;
    setWidth(el.clientWidth || 320);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth || 320));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A new tensor keeps the cursor where it was if that cell still exists.
  useEffect(() => {
    setCursor((c) => (c && c.r < grid.rows && c.c < grid.cols ? c : null));
    setHover(null);
  }, [grid]);

  const withRowLabels = grid.rowLabels !== undefined && grid.rows <= 64;
  const cellW = Math.max(MIN_CELL, Math.min(MAX_CELL, Math.floor((width - (withRowLabels ? ROW_LABEL_PX : 0) - 4) / grid.cols)));
  // Wrapped vectors are strips: flatter cells keep a long vector's grid short.
  const cellH = Math.max(6, Math.min(MAX_CELL, grid.binSize > 1 || grid.rows > 32 ? Math.min(cellW, 8) : cellW));

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const dpr = window.devicePixelRatio || 1;
    el.width = grid.cols * cellW * dpr;
    el.height = grid.rows * cellH * dpr;
    const ctx = el.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(el.width, el.height);
    const pxW = cellW * dpr;
    const pxH = cellH * dpr;
    // Fill pixels directly: one pass, no per-cell canvas calls (fast for thousands of cells).
    for (let r = 0; r < grid.rows; r++)
      for (let c = 0; c < grid.cols; c++) {
        const rgb = divergingRgb(grid.cells[r * grid.cols + c] / scaleMax);
        if (!rgb) continue;
        // A one-pixel gap between cells when they are large enough to afford it.
        const gap = pxW >= 6 ? 1 : 0;
        for (let y = Math.round(r * pxH); y < Math.round((r + 1) * pxH) - gap; y++)
          for (let x = Math.round(c * pxW); x < Math.round((c + 1) * pxW) - gap; x++) {
            const at = 4 * (y * el.width + x);
            img.data[at] = rgb[0];
            img.data[at + 1] = rgb[1];
            img.data[at + 2] = rgb[2];
            img.data[at + 3] = 255;
          }
      }
    ctx.putImageData(img, 0, 0);
  }, [grid, scaleMax, cellW, cellH]);

  const cellAt = (e: MouseEvent): Cell | null => {
    const r = Math.floor(e.offsetY / cellH);
    const c = Math.floor(e.offsetX / cellW);
    return r >= 0 && r < grid.rows && c >= 0 && c < grid.cols && grid.elementAt(r, c) >= 0 ? { r, c } : null;
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[e.key];
    if (!move) return;
    // Arrow keys belong to the heatmap while it has focus, not to the stepper's navigation.
    e.preventDefault();
    e.stopPropagation();
    setCursor((cur) => {
      if (!cur) return { r: 0, c: 0 };
      const r = Math.max(0, Math.min(grid.rows - 1, cur.r + move[0]));
      const c = Math.max(0, Math.min(grid.cols - 1, cur.c + move[1]));
      return grid.elementAt(r, c) >= 0 ? { r, c } : cur;
    });
  };

  const shown = hover ?? cursor;
  const value = shown ? grid.cells[shown.r * grid.cols + shown.c] : null;
  const readout =
    shown && value !== null
      ? `${grid.cellName(shown.r, shown.c)}: ${formatValue(value)}`
      : 'Hover over a cell, or focus the heatmap and use the arrow keys, to read its value.';

  const rowLabels = withRowLabels && cellH >= LABEL_MIN_CELL ? grid.rowLabels : undefined;
  const colLabels = grid.colLabels && cellW >= LABEL_MIN_CELL ? grid.colLabels : undefined;

  return (
    <div class="heatmap" ref={wrap}>
      <div class="heatmap-grid" style={{ gridTemplateColumns: rowLabels ? `${ROW_LABEL_PX}px auto` : 'auto' }}>
        {rowLabels && (
          <div class="heatmap-rows" aria-hidden="true">
            {rowLabels.map((l, r) => (
              <span key={r} style={{ height: `${cellH}px`, lineHeight: `${cellH}px` }}>
                {l}
              </span>
            ))}
          </div>
        )}
        <div class="heatmap-canvas" style={{ width: `${grid.cols * cellW}px`, height: `${grid.rows * cellH}px` }}>
          <canvas
            ref={canvas}
            tabIndex={0}
            role="img"
            aria-label={`${label}: heatmap of ${grid.rows} × ${grid.cols} cells${grid.binSize > 1 ? `, ${grid.binSize} values per cell` : ''}. Arrow keys move between cells.`}
            style={{ width: `${grid.cols * cellW}px`, height: `${grid.rows * cellH}px` }}
            onMouseMove={(e) => setHover(cellAt(e))}
            onMouseLeave={() => setHover(null)}
            onFocus={() => setCursor((c) => c ?? { r: 0, c: 0 })}
            onKeyDown={onKeyDown}
          />
          {shown && (
            <div
              class="heatmap-mark"
              aria-hidden="true"
              style={{ left: `${shown.c * cellW}px`, top: `${shown.r * cellH}px`, width: `${cellW}px`, height: `${cellH}px` }}
            />
          )}
        </div>
        {colLabels && rowLabels && <span />}
        {colLabels && (
          <div class="heatmap-cols" aria-hidden="true">
            {colLabels.map((l, c) => (
              <span key={c} style={{ width: `${cellW}px` }} title={l}>
                {showPiece(l)}
              </span>
            ))}
          </div>
        )}
      </div>
      <p class="heatmap-readout" aria-live="polite" data-testid="stepper-readout">
        {readout}
      </p>
    </div>
  );
}
