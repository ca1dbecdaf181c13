/** The forms of STIX type names and identifiers that filters and URLs accept (TAXII and GraphQL alike). */
export const STIX_TYPE = /^[a-z0-9][a-z0-9-]{0,249}$/;
export const STIX_ID = /^[a-z0-9][a-z0-9-]{0,249}--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
