/** The "Prompt" label and one-line text input of the widgets that run a prompt through the model. */
export function PromptField(props: { id: string; class: string; testId: string; value: string; onText: (text: string) => void }) {
  return (
    <div class={props.class}>
      <label for={props.id}>Prompt</label>
      <input
        id={props.id}
        data-testid={props.testId}
        type="text"
        value={props.value}
        spellcheck={false}
        autoComplete="off"
        onInput={(e) => props.onText(e.currentTarget.value)}
      />
    </div>
  );
}
