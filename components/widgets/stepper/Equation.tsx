/**
 * A step's equation, typeset by KaTeX to MathML (no fonts or stylesheet to ship, readable by
 * screen readers), the same output the chapters' build-time math uses. Only this widget loads KaTeX.
 */
import katex from 'katex';
import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

export const typeset = (tex: string): string => katex.renderToString(tex, { output: 'mathml', displayMode: true, throwOnError: false });

export function Equation({ tex }: { tex: string }) {
  const html = useMemo(() => typeset(tex), [tex]);
  const box = useRef<HTMLDivElement>(null);
  // On a narrow screen a wide equation scrolls sideways; a scrolling box must be reachable by keyboard.
  const [scrolls, setScrolls] = useState(false);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setScrolls(el.scrollWidth > el.clientWidth + 1);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [html]);
  return (
    <div
      class="stepper-equation"
      data-testid="stepper-equation"
      ref={box}
      tabIndex={scrolls ? 0 : undefined}
      role={scrolls ? 'group' : undefined}
      aria-label={scrolls ? 'Equation (scrolls sideways)' : undefined}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
