import type { Materialization } from './types.js';

/** Builds nothing: consumers inline the model as a CTE (see compiler/ephemeral.ts). */
export const ephemeral: Materialization = {
  name: 'ephemeral',
  inline: true,
  async build() {
    return { message: 'ephemeral: inlined into its consumers' };
  },
};
