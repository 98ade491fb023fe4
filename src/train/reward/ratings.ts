/**
 * The four preference ratings of Llama 2's annotation protocol, strongest first, keyed as the
 * columns of Tables 8 and 27 (content/data), so margins and accuracies line up by key.
 */
export const RATINGS = ['significantlyBetter', 'better', 'slightlyBetter', 'negligiblyBetterUnsure'] as const;
export type Rating = (typeof RATINGS)[number];

export const RATING_LABELS: Readonly<Record<Rating, string>> = {
  significantlyBetter: 'Significantly better',
  better: 'Better',
  slightlyBetter: 'Slightly better',
  negligiblyBetterUnsure: 'Negligibly better / unsure',
};

/** The margin m(r) for each rating, in reward units. */
export type Margins = Readonly<Record<Rating, number>>;

export const NO_MARGIN: Margins = { significantlyBetter: 0, better: 0, slightlyBetter: 0, negligiblyBetterUnsure: 0 };
