/**
 * A whole-number input (a count of steps, tokens, stories...): the number keypad on phones, steps
 * of one, and, when `invalid`, marked so and pointing at the message that says why. The label
 * and any help stay with the caller, which lays them out.
 */
export function CountInput(props: {
  id: string;
  testId: string;
  min: number;
  max?: number;
  value: string;
  onText: (text: string) => void;
  disabled?: boolean;
  invalid?: boolean;
  /** The element(s) describing the input: an error message, help text. */
  describedBy?: string;
}) {
  return (
    <input
      id={props.id}
      data-testid={props.testId}
      type="number"
      inputMode="numeric"
      min={props.min}
      max={props.max}
      step={1}
      value={props.value}
      disabled={props.disabled}
      aria-invalid={props.invalid ? 'true' : undefined}
      aria-describedby={props.describedBy}
      onInput={(e) => props.onText(e.currentTarget.value)}
    />
  );
}
