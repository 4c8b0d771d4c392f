/**
 * Small built-in word lists. Names are common on purpose (at 1M people many strangers share a
 * name, which is exactly what an identity stage must not merge on); every email, phone and
 * domain is made unique or fictional elsewhere.
 */

export const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth',
  'David', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Christopher', 'Karen',
  'Daniel', 'Nancy', 'Matthew', 'Lisa', 'Anthony', 'Margaret', 'Mark', 'Sandra', 'Steven', 'Ashley',
  'Andrew', 'Emily', 'Joshua', 'Michelle', 'Kevin', 'Amanda', 'Brian', 'Melissa', 'Samantha', 'Katherine',
  'Alexander', 'Olivia', 'Ethan', 'Sophia', 'Noah', 'Chloe', 'Liam', 'Zoe', 'Mateo', 'Sofía',
  'José', 'Renée', 'Jürgen', 'Anneke', 'Priya', 'Wei', 'Aisha', 'Omar', 'Yuki', 'Hannah',
] as const;

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  "O'Brien", "O'Connor", 'McDonald', 'Van der Berg', 'Müller', 'Schmidt', 'Fischer', 'Núñez', 'Kowalski', 'Okafor',
  'Patel', 'Chen', 'Kim', 'Tanaka', 'Rossi', 'Dubois', 'Ivanova', 'Haddad', 'Johansson', 'Smith-Jones',
] as const;

/** Short forms people type instead of their CRM name; a duplicate contact often carries one. */
export const NICKNAMES: Readonly<Record<string, string>> = {
  Robert: 'Bob', William: 'Bill', Elizabeth: 'Liz', Katherine: 'Kate', Michael: 'Mike', Jennifer: 'Jen',
  Daniel: 'Dan', Christopher: 'Chris', Margaret: 'Maggie', James: 'Jim', Joseph: 'Joe', Thomas: 'Tom',
  Richard: 'Rick', Patricia: 'Pat', Alexander: 'Alex', Samantha: 'Sam', Matthew: 'Matt', Anthony: 'Tony',
  Steven: 'Steve', Andrew: 'Andy', Joshua: 'Josh', Susan: 'Sue', Barbara: 'Barb',
};

/**
 * Real mailbox providers only: reserved domains such as example.net cannot receive mail, so a
 * real person never has one (they appear only as junk placeholders, see JUNK_EMAILS).
 */
export const PERSONAL_DOMAINS: readonly (readonly [string, number])[] = [
  ['gmail.com', 45],
  ['yahoo.com', 15],
  ['outlook.com', 15],
  ['hotmail.com', 8],
  ['icloud.com', 8],
  ['proton.me', 4],
  ['aol.com', 2],
  ['fastmail.com', 3],
];

export const COMPANY_WORDS_A = [
  'Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne',
  'Soylent', 'Wonka', 'Gringotts', 'Oscorp', 'Aperture', 'Monarch', 'Massive', 'Pied', 'Dunder', 'Prestige',
  'Blue', 'Red', 'Silver', 'Golden', 'Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware', 'Adatum',
  'Bright', 'Rapid', 'Summit', 'Harbor', 'Granite', 'Cedar', 'Maple', 'Falcon', 'Orbit', 'Quantum',
  'Nimbus', 'Vertex', 'Beacon', 'Atlas', 'Polar', 'Lumen', 'Copper', 'Iron', 'Echo', 'Zenith',
] as const;

export const COMPANY_WORDS_B = [
  'Corp', 'Industries', 'Systems', 'Labs', 'Dynamics', 'Logistics', 'Analytics', 'Foods', 'Robotics', 'Media',
  'Networks', 'Health', 'Energy', 'Capital', 'Software', 'Supply', 'Brands', 'Works', 'Partners', 'Holdings',
  'Cloud', 'Data', 'Retail', 'Motors', 'Pharma', 'Studios', 'Solutions', 'Ventures', 'Group', 'Digital',
] as const;

/** Legal suffix and top-level domain go together so each (A, B, variant) is one distinct company. */
export const COMPANY_VARIANTS: readonly { suffix: string; tld: string }[] = [
  { suffix: 'Inc.', tld: 'com' },
  { suffix: 'LLC', tld: 'io' },
  { suffix: 'GmbH', tld: 'de' },
  { suffix: 'Ltd', tld: 'co.uk' },
];

export const JOB_TITLES = [
  'Software Engineer', 'Senior Software Engineer', 'Data Analyst', 'Data Engineer', 'Head of Data',
  'Marketing Manager', 'VP Marketing', 'Growth Lead', 'Product Manager', 'Director of Product',
  'Account Executive', 'Sales Manager', 'CFO', 'CTO', 'CEO', 'Operations Manager', 'Office Manager',
  'Procurement Specialist', 'IT Administrator', 'Customer Success Manager', 'Analytics Engineer',
  'Head of CRM', 'Chief of Staff', 'Finance Manager', 'R&D Lead', 'Director, Partnerships',
] as const;

export const US_AREA_CODES = [
  201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228,
  229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281, 301, 302,
  303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 323, 325, 330,
  334, 336, 337, 339, 347, 351, 352, 360, 361, 386, 401, 402, 404, 405, 406, 407, 408, 409, 410, 412,
  413, 414, 415, 417, 419, 423, 424, 425, 430, 432, 434, 435, 440, 443, 469, 478, 479, 480, 484, 501,
] as const;

export const TICKET_SUBJECTS = [
  'Where is my order?',
  'Refund request',
  'Cannot log in',
  'Password reset not arriving',
  'Wrong item received',
  'Change shipping address',
  'Cancel my subscription',
  'Invoice needed for accounting',
  'Damaged package',
  'Question about sizing, fit and returns',
  'Order "never arrived"',
  'Promo code not working',
  'Please delete my data (GDPR)',
  'Bulk pricing for our team',
  'Update billing details',
] as const;

export const TICKET_STATUSES: readonly (readonly [string, number])[] = [
  ['closed', 55],
  ['solved', 20],
  ['open', 15],
  ['pending', 10],
];

/** Placeholder values real forms collect; each one is shared by many unrelated people. */
export const JUNK_EMAILS = ['test@test.com', 'noreply@example.com', 'unknown', 'null', 'n/a', '', 'none@none.com', 'N/A'] as const;
export const JUNK_PHONES = ['0000000000', 'n/a', 'unknown', '', '1234567890', '000-000-0000', 'null'] as const;
export const JUNK_NAMES = ['Test', 'unknown', 'n/a', 'null', ''] as const;
/** What front-end code sends as user_id when the variable it meant was unset. */
export const JUNK_USER_IDS = ['null', 'undefined', '0', 'unknown'] as const;

export const SUBSCRIPTION_SOURCES: readonly (readonly [string, number])[] = [
  ['footer_form', 30],
  ['checkout', 25],
  ['popup', 20],
  ['import', 10],
  ['crm_sync', 10],
  ['webinar', 5],
];
