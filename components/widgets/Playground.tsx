// Placeholder until its owner lands the real widget.
export default function Playground() {
  return <p>Playground (coming)</p>;
}
