import { registerEnumType } from "type-graphql";

/** Why an account is flagged; the same list as the flag table's check constraint. */
export const FLAG_CATEGORIES = [
  "MALWARE_HOSTING",
  "COMMAND_AND_CONTROL",
  "PHISHING",
  "FRAUD",
  "CRYPTOJACKING",
  "DDOS",
  "SPAM",
  "RESALE_ABUSE",
  "SANCTIONS_EVASION",
  "OTHER",
] as const;
export type FlagCategory = (typeof FLAG_CATEGORIES)[number];

export const FlagCategoryEnum = Object.fromEntries(FLAG_CATEGORIES.map((c) => [c, c])) as { [K in FlagCategory]: K };
registerEnumType(FlagCategoryEnum, { name: "FlagCategory", description: "Why an account is flagged" });
