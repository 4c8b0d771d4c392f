/**
 * Mapped fields → a Klaviyo profile resource for bulk import. A bulk import cannot set a
 * field to null (Klaviyo documents this), so null fields are left out rather than sent:
 * the profile keeps its old value.
 */

/** Profile attributes Klaviyo has at the top level; any other field is a custom property. */
const TOP_LEVEL = new Set(['email', 'phone_number', 'external_id', 'first_name', 'last_name', 'organization', 'title', 'image']);
const IDENTIFIERS = new Set(['email', 'phone_number', 'external_id']);
const LOCATION = new Set(['address1', 'address2', 'city', 'country', 'region', 'zip', 'timezone', 'latitude', 'longitude', 'ip']);

export interface ProfileResource {
  type: 'profile';
  attributes: Record<string, unknown>;
}

/** A JSON value with nulls removed; undefined when nothing is left to send. */
export function withoutNulls(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(withoutNulls).filter((x) => x !== undefined);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const clean = withoutNulls(x);
      if (clean !== undefined) out[k] = clean;
    }
    return out;
  }
  return v;
}

/**
 * Field names: a standard attribute (`email`, `first_name`…), a location part (`city` or
 * `location.city`), `properties.<name>`, or anything else, which becomes a custom property.
 */
export function toProfile(fields: Record<string, unknown>): ProfileResource {
  const attributes: Record<string, unknown> = {};
  const location: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(fields)) {
    const value = withoutNulls(raw);
    if (value === undefined) continue;
    if (IDENTIFIERS.has(name)) attributes[name] = String(value);
    else if (TOP_LEVEL.has(name)) attributes[name] = value;
    else if (name.startsWith('location.')) location[name.slice('location.'.length)] = value;
    else if (LOCATION.has(name)) location[name] = value;
    else if (name.startsWith('properties.')) properties[name.slice('properties.'.length)] = value;
    else properties[name] = value;
  }
  if (Object.keys(location).length) attributes.location = location;
  if (Object.keys(properties).length) attributes.properties = properties;
  return { type: 'profile', attributes };
}
