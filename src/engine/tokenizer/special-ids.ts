/**
 * BOS and EOS ids, fixed by the llama2.c tokenizer format for every vocabulary
 * (shared/reference/README.md). Their own module so the page can know them without the tokenizer.
 */
export const BOS_ID = 1;
export const EOS_ID = 2;
