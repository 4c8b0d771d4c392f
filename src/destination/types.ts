/**
 * The destination boundary. A connector declares what it can do and sends one batch; the
 * sync engine does batching, rate limiting, retries and bookkeeping, so connectors stay small.
 */

/** How a sync maps source rows to destination operations. */
export type SyncMode = 'audience' | 'upsert' | 'update' | 'insert' | 'mirror';

/**
 * - add / remove: audience membership (idempotent);
 * - upsert: create or update the record (idempotent);
 * - delete: remove the record (mirror mode; idempotent).
 */
export type OperationKind = 'add' | 'remove' | 'upsert' | 'delete';

export interface Operation {
  op: OperationKind;
  /** The sync key's value, as text. */
  key: string;
  /** Mapped fields (destination field name -> value); for removals, the last fields sent. */
  fields: Record<string, unknown>;
  /**
   * The same fields as JSON text, when the engine has them as text (it does for planned rows,
   * and then parses `fields` only if a connector reads it). A connector that sends JSON splices
   * this in rather than serialise `fields`: at a million rows, parsing and re-serialising is
   * most of the delivery's garbage.
   */
  fieldsJson?: string;
}

export type RowOutcome =
  | { key: string; status: 'ok' }
  | { key: string; status: 'rejected'; reason: string }
  | { key: string; status: 'retry'; reason: string };

/** Auth or configuration failure: the run stops, nothing more is sent. */
export class FatalDestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FatalDestinationError';
  }
}

/** The whole batch may be sent again (429, 5xx, reset, timeout). The outcome of the attempt is unknown. */
export class RetryableBatchError extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'RetryableBatchError';
  }
}

export interface IdentifierRule {
  /** Destination field name, e.g. `email`. */
  field: string;
  /** How the value is prepared before it leaves: hashed fields never leave in plain text. */
  prepare: 'plain' | 'sha256_email' | 'sha256_phone_e164' | 'sha256_phone_digits' | 'sha256_name';
}

export interface DestinationCapabilities {
  modes: SyncMode[];
  /** Operations per request. */
  batchSize: number;
  /** Sustained requests per second; undefined = no limit declared. */
  requestsPerSecond?: number;
  /** Requests in flight at once. */
  concurrency: number;
  supportsRemoval: boolean;
  /** Identifier fields the destination matches on; a sync must map at least one. */
  identifiers: IdentifierRule[];
  /** Fields a sync must map (e.g. an upsert's id property). */
  requiredFields?: string[];
  /** Fields the destination accepts; undefined = any. */
  acceptedFields?: string[];
}

export interface DeliveryContext {
  sync: string;
  runId: string;
  batchId: string;
  /** Aborted when the run is being stopped; connectors pass it to fetch. */
  signal: AbortSignal;
}

export interface Destination {
  readonly type: string;
  readonly capabilities: DestinationCapabilities;
  /** Sends one batch; returns an outcome per operation (keys missing from the result count as ok). */
  send(batch: Operation[], ctx: DeliveryContext): Promise<RowOutcome[]>;
  /** Optional follow-up for asynchronous APIs (e.g. run a Google offline job) once every batch is sent. */
  finish?(ctx: Omit<DeliveryContext, 'batchId'>): Promise<void>;
}

/** Creates a connector from its `destinations:` entry (secrets already resolved). */
export interface DestinationFactory {
  readonly type: string;
  /** Checks the config entry; returns problems as [key, message] pairs. */
  validateConfig(config: Record<string, unknown>): [string, string][];
  create(config: Record<string, unknown>, projectDir: string): Destination;
}
