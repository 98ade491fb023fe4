// Placeholder until its owner lands the real widget.
export default function ForwardStepper() {
  return <p>ForwardStepper (coming)</p>;
}
