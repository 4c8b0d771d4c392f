/**
 * A connector factory whose create() runs the same checks as validateConfig, so a connector is
 * never built from a bad entry, even by a caller that skipped validation.
 */
import { CdpError } from '../errors.js';
import type { Destination, DestinationFactory } from './types.js';

export function checkedFactory(spec: {
  type: string;
  validateConfig: DestinationFactory['validateConfig'];
  /** Starts the CdpError message when the entry has problems, e.g. "invalid meta destination". */
  refusal: string;
  /** Builds the connector from an entry validateConfig found no problem with. */
  build(config: Record<string, unknown>): Destination;
}): DestinationFactory {
  return {
    type: spec.type,
    validateConfig: spec.validateConfig,
    create(config) {
      const problems = spec.validateConfig(config);
      if (problems.length > 0) throw new CdpError(`${spec.refusal}: ${problems.map(([, message]) => message).join('; ')}`);
      return spec.build(config);
    },
  };
}
