/** The most likely next tokens as probability bars, and greedy decoding's pick. */
import { showPiece } from './TokenStrip.tsx';
import { formatProbability, formatValue, type RankedToken } from './values.ts';

interface Props {
  top: readonly RankedToken[];
  /** Display text of a token id, when known. */
  pieceOf(id: number): string | undefined;
}

export function LogitsView({ top, pieceOf }: Props) {
  if (top.length === 0) return null;
  const name = (id: number) => {
    const piece = pieceOf(id);
    return piece === undefined ? `token ${id}` : showPiece(piece);
  };
  const pick = top[0];
  return (
    <div class="stepper-logits">
      <p class="stepper-sampled" data-testid="stepper-sampled" data-token-id={String(pick.id)}>
        Greedy choice (argmax): <strong class="stepper-piece">{name(pick.id)}</strong> (
        {pieceOf(pick.id) === undefined ? '' : `token ${pick.id}, `}probability {formatProbability(pick.probability)})
      </p>
      <table class="stepper-top" data-testid="stepper-top">
        <caption>The {top.length} most likely next tokens (softmax of the logits)</caption>
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Probability</th>
            <th scope="col">Logit</th>
          </tr>
        </thead>
        <tbody>
          {top.map((t) => (
            <tr key={t.id} data-token-id={String(t.id)} data-probability={String(t.probability)}>
              <th scope="row">
                <span class="stepper-piece">{name(t.id)}</span> <span class="stepper-id">{t.id}</span>
              </th>
              <td class="stepper-prob">
                <span class="stepper-prob-track" aria-hidden="true">
                  <span class="stepper-prob-bar" style={{ width: `${(100 * t.probability).toFixed(2)}%` }} />
                </span>
                {formatProbability(t.probability)}
              </td>
              <td>{formatValue(t.logit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
