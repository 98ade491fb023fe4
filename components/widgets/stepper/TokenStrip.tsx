/** The prompt's tokens as buttons: the chosen one is the position whose forward pass is shown. */

/** A piece as readable text: spaces made visible at the edges, newlines as ↵. */
export function showPiece(piece: string): string {
  return piece.replace(/\n/g, '↵').replace(/^ /, '␣').replace(/ $/, '␣');
}

interface Props {
  pieces: readonly string[];
  ids: readonly number[];
  position: number;
  /** Positions from here on are past the model's context and cannot be chosen. */
  limit: number;
  onPick(position: number): void;
}

export function TokenStrip({ pieces, ids, position, limit, onPick }: Props) {
  return (
    <div
      class="stepper-tokens"
      role="group"
      aria-label="Position to inspect"
      data-testid="stepper-position"
      data-position={String(position)}
    >
      {pieces.map((piece, i) => (
        <button
          type="button"
          key={i}
          class="stepper-token"
          data-testid="stepper-token"
          data-position={String(i)}
          data-token-id={String(ids[i])}
          aria-pressed={i === position ? 'true' : 'false'}
          aria-label={`position ${i}: ${JSON.stringify(piece)} (token ${ids[i]})`}
          disabled={i >= limit}
          onClick={() => onPick(i)}
        >
          {showPiece(piece)}
        </button>
      ))}
    </div>
  );
}
