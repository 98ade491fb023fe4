// Placeholder until its owner lands the real widget.
export default function ModelPanel() {
  return <p>ModelPanel (coming)</p>;
}
