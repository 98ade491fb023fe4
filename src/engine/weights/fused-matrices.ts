/**
 * The layer matrices the engine stacks into one product ([Wq; Wk; Wv] and [W1; W3]), and the
 * BlockWeights field each stack fills: the weight builder assembles them, the memory plan counts
 * each stack as one buffer.
 */
export const FUSED_MATRICES = [
  { parts: ['wq', 'wk', 'wv'], field: 'qkv' },
  { parts: ['w1', 'w3'], field: 'gateUp' },
] as const;

export type FusedGroup = (typeof FUSED_MATRICES)[number];

/** The stack a layer matrix (`wq`, `w1`, ...) belongs to, if any. */
export function fusedGroupOf(part: string): FusedGroup | undefined {
  return FUSED_MATRICES.find((g) => (g.parts as readonly string[]).includes(part));
}

/** The buffer a tensor is held in, as messages name it: `layers.L.wq;wk;wv` for `layers.L.wq`, the tensor's own name otherwise. */
export function stackName(name: string): string {
  const [prefix, layer, part] = name.split('.');
  const group = part === undefined ? undefined : fusedGroupOf(part);
  return group ? `${prefix}.${layer}.${group.parts.join(';')}` : name;
}
