// Placeholder until its owner lands the real widget.
export default function ParamCalculator() {
  return <p>ParamCalculator (coming)</p>;
}
