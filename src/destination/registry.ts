/**
 * Destination types, loaded lazily: a project that syncs only to a file never loads the
 * ad-platform connectors.
 */
import { CdpError } from '../errors.js';
import { didYouMean } from '../project/schema.js';
import type { DestinationFactory } from './types.js';

const LOADERS: Record<string, () => Promise<{ factory: DestinationFactory }>> = {
  file: () => import('../../adapters/destination/file/index.js'),
  webhook: () => import('../../adapters/destination/webhook/index.js'),
  meta: () => import('../../adapters/destination/meta/index.js'),
  google_ads: () => import('../../adapters/destination/google-ads/index.js'),
  hubspot: () => import('../../adapters/destination/hubspot/index.js'),
  braze: () => import('../../adapters/destination/braze/index.js'),
  klaviyo: () => import('../../adapters/destination/klaviyo/index.js'),
};

export const DESTINATION_TYPES = Object.keys(LOADERS);

export async function destinationFactory(type: string): Promise<DestinationFactory> {
  const load = LOADERS[type];
  if (!load) {
    const near = didYouMean(type, DESTINATION_TYPES);
    throw new CdpError(`unknown destination type "${type}"`, { hint: `${near ? `did you mean "${near}"? ` : ''}available: ${DESTINATION_TYPES.join(', ')}` });
  }
  return (await load()).factory;
}
