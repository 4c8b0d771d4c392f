/**
 * Shape of every demo CSV, so a loader can create typed tables without sniffing values
 * (sniffing would type `customer_id` by whichever junk happens to come first).
 */

export type DemoColumnType = 'text' | 'integer' | 'double' | 'decimal' | 'boolean' | 'date' | 'timestamp';

export interface DemoColumn {
  name: string;
  type: DemoColumnType;
  /** False only for the primary key and columns every record fills. */
  nullable: boolean;
  /** Only for `decimal`. */
  precision?: number;
  scale?: number;
}

export type DemoSourceName =
  | 'raw_crm_contacts'
  | 'raw_orders'
  | 'raw_events'
  | 'raw_support_tickets'
  | 'raw_email_subscriptions';

export interface DemoSource {
  /** Table name; also the CSV base name and the `source` value in the ground truth. */
  name: DemoSourceName;
  file: string;
  /** Primary key column; its value is the ground truth's `record_key`. */
  key: string;
  description: string;
  columns: readonly DemoColumn[];
}

const text = (name: string, nullable = true): DemoColumn => ({ name, type: 'text', nullable });
const timestamp = (name: string): DemoColumn => ({ name, type: 'timestamp', nullable: false });

export const DEMO_SOURCES: readonly DemoSource[] = [
  {
    name: 'raw_crm_contacts',
    file: 'raw_crm_contacts.csv',
    key: 'contact_id',
    description: 'CRM contacts: duplicates per person, B2B company and account, employer changes.',
    columns: [
      text('contact_id', false),
      text('customer_id'),
      text('first_name'),
      text('last_name'),
      text('email'),
      text('phone'),
      text('company_name'),
      text('company_domain'),
      text('crm_account_id'),
      text('job_title'),
      timestamp('created_at'),
      timestamp('updated_at'),
    ],
  },
  {
    name: 'raw_orders',
    file: 'raw_orders.csv',
    key: 'order_id',
    description: 'Orders; logged-in ones carry customer_id and the account email, guest checkouts email/phone only.',
    columns: [
      text('order_id', false),
      text('customer_id'),
      text('email'),
      text('phone'),
      timestamp('ordered_at'),
      { name: 'amount', type: 'decimal', nullable: false, precision: 12, scale: 2 },
      text('currency', false),
      text('status', false),
    ],
  },
  {
    name: 'raw_events',
    file: 'raw_events.csv',
    key: 'event_id',
    description: 'Web/app events; user_id (= customer_id) appears from login on, emails on logins, identify calls, checkouts and campaign clicks.',
    columns: [
      text('event_id', false),
      text('anonymous_id', false),
      text('user_id'),
      text('email'),
      text('event_type', false),
      timestamp('occurred_at'),
      text('channel', false),
    ],
  },
  {
    name: 'raw_support_tickets',
    file: 'raw_support_tickets.csv',
    key: 'ticket_id',
    description: 'Support tickets keyed by whatever email/phone the requester typed.',
    columns: [
      text('ticket_id', false),
      text('email'),
      text('phone'),
      text('subject', false),
      timestamp('created_at'),
      text('status', false),
    ],
  },
  {
    name: 'raw_email_subscriptions',
    file: 'raw_email_subscriptions.csv',
    key: 'subscription_id',
    description: 'Email list memberships with marketing consent.',
    columns: [
      text('subscription_id', false),
      text('email'),
      text('list_name', false),
      text('status', false),
      { name: 'consent_marketing', type: 'boolean', nullable: false },
      timestamp('consent_updated_at'),
      text('source', false),
    ],
  },
];

/** Columns of the ground-truth file: one row per raw record. */
export const DEMO_TRUTH_COLUMNS: readonly DemoColumn[] = [
  text('source', false),
  text('record_key', false),
  text('person_id', false),
];
