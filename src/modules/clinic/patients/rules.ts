/** Patient rules: OP numbers, ages, duplicate identity and the words search matches. */

export const formatOpNumber = (year: number, n: number): string => `OP-${year}-${String(n).padStart(3, '0')}`;

/** OP-<year>-<n> as one integer that sorts in registration order (up to 10 million patients a year). */
export const opKey = (year: number, n: number): number => year * 10_000_000 + n;

/** Whole years between a `YYYY-MM-DD` birth date and `on` (a `YYYY-MM-DD` day). */
export function ageOn(dateOfBirth: string | null, on: string): number | null {
  if (!dateOfBirth) return null;
  // Fixed-width text: the years subtract as numbers, and "MM-DD" compares as text in calendar order.
  const birthdayToCome = on.slice(5) < dateOfBirth.slice(5);
  return Math.max(0, Number(on.slice(0, 4)) - Number(dateOfBirth.slice(0, 4)) - (birthdayToCome ? 1 : 0));
}

/** Apostrophes as people type them: straight, the typographic ’ (and ‘) phones type, the modifier letter ʼ. */
const APOSTROPHE = "['\u2018\u2019\u02bc]";
const APOSTROPHES = new RegExp(APOSTROPHE, 'g');
const AN_APOSTROPHE = new RegExp(APOSTROPHE);
/** Whether folding drops an apostrophe from `text`: in its NFKD form, as `foldText` sees it (the fullwidth ＇ is one there). */
export const hasApostrophe = (text: string): boolean => AN_APOSTROPHE.test(text.normalize('NFKD'));

/**
 * Letters without accents or apostrophes, lower case: "Njoroge", "NJORÓGE" and "njoroge" are one
 * word, and so are "Ng'ang'a", "Ng’ang’a" and "Nganga", however the desk or the phone typed it.
 */
export function foldText(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').replace(APOSTROPHES, '').toLowerCase();
}

/**
 * The forms a Kenyan phone number is typed in: "0712 345 678", "+254712345678", "712345678".
 * Returns the digit strings to index (empty when there are no digits).
 */
export function phoneForms(phone: string | null | undefined): string[] {
  const digits = (phone ?? '').replace(/\D/g, '');
  if (!digits) return [];
  const local = localPhone(digits);
  return [...new Set([digits, local, `0${local}`, `254${local}`])];
}

/** The number without its trunk prefix 0 or country code 254. */
export function localPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.startsWith('254') && digits.length > 9) return digits.slice(3);
  if (digits.startsWith('0')) return digits.slice(1);
  return digits;
}

const nameWords = (name: string | null | undefined): string[] =>
  foldText(name ?? '')
    .split(/[^\p{L}\p{N}-]+/u)
    .flatMap((word) => (word.includes('-') ? [word, ...word.split('-')] : [word]))
    .map((word) => word.replace(/^-+|-+$/g, ''))
    .filter(Boolean);

const identifierForms = (value: string | null | undefined): string[] => {
  const folded = foldText(value ?? '').replace(/\s+/g, '');
  if (!folded) return [];
  const alphanumeric = folded.replace(/[^\p{L}\p{N}]/gu, '');
  return alphanumeric && alphanumeric !== folded ? [folded, alphanumeric] : [folded];
};

export interface SearchableFields {
  op_number: string;
  first_name: string;
  last_name: string;
  phone_number: string | null;
  national_id: string | null;
  insurance_number: string | null;
}

/** The identifiers a patient is found by, each matched by prefix (a range on the term index). */
export function identifierTerms(patient: SearchableFields): string[] {
  const terms = new Set<string>([
    ...identifierForms(patient.op_number),
    ...phoneForms(patient.phone_number),
    ...identifierForms(patient.national_id),
    ...identifierForms(patient.insurance_number),
  ]);
  return [...terms].filter((term) => term.length <= 100);
}

/**
 * Every prefix of every name word, once per patient: a search word then matches a name by equality,
 * one index entry per patient, already in key order, so counting and paging need no de-duplication
 * or sort. About 15 rows a patient.
 */
export function namePrefixes(patient: Pick<SearchableFields, 'first_name' | 'last_name'>): string[] {
  const prefixes = new Set<string>();
  for (const word of [...nameWords(patient.first_name), ...nameWords(patient.last_name)]) {
    for (let length = 1; length <= Math.min(word.length, 100); length++) prefixes.add(word.slice(0, length));
  }
  return [...prefixes];
}

/** Both: every string a search word is compared with (for tests and explanations). */
export function searchTerms(patient: SearchableFields): string[] {
  return [...new Set([...nameWords(patient.first_name), ...nameWords(patient.last_name), ...identifierTerms(patient)])];
}

const PHONE_LIKE = /^\+?[\d\s().-]+$/;

/**
 * Where a typed word splits as a name word does (`nameWords`: "St.Clair"), except at the characters
 * identifiers hold: `-` (OP numbers) and `/` (insurance numbers).
 */
const SEARCH_WORD_BREAK = /[^\p{L}\p{N}/-]+/u;

/**
 * A search string -> the prefixes a patient must all match (at most 5). A phone-like word keeps
 * only its digits, so "+254 712" finds "0712 345 678"; an OP number keeps its hyphens. A word is
 * folded and split as a name's words are ("O’Neil" -> "oneil", "St.Clair" -> "st", "clair"), so a
 * name is found as it was written, with or without its apostrophes. A word of punctuation only is
 * kept whole, and so is a search of quotes only: they match nothing rather than everything.
 */
export function searchPrefixes(search: string): string[] {
  const trimmed = search.trim();
  if (!trimmed) return [];
  if (PHONE_LIKE.test(trimmed) && /\d/.test(trimmed)) return [trimmed.replace(/\D/g, '')];
  const words = foldText(trimmed)
    .split(/\s+/)
    .flatMap((word) => {
      const parts = word.split(SEARCH_WORD_BREAK).filter(Boolean);
      return parts.length > 0 ? parts : [word];
    })
    .map((word) => word.replace(/^['",.]+|['",.]+$/g, ''))
    .filter(Boolean);
  // Only quotes and apostrophes: something was typed, so not the empty search that lists everyone.
  // As typed, it matches no folded term.
  if (words.length === 0) return [trimmed];
  return [...new Set(words)].slice(0, 5);
}

/** The smallest string greater than every string starting with `prefix` (for `term < upper`). */
export function prefixUpperBound(prefix: string): string {
  const last = prefix.codePointAt(prefix.length - 1)!;
  return prefix.slice(0, prefix.length - (last > 0xffff ? 2 : 1)) + String.fromCodePoint(last + 1);
}

/** The second duplicate rule: same names, date of birth and phone. Null when any is unknown. */
export function identityKey(p: { first_name: string; last_name: string; date_of_birth: string | null; phone_number: string | null }): string | null {
  // The local form (without 0 or 254) makes "0712..." and "+254712..." the same phone.
  const local = localPhone(p.phone_number ?? '');
  if (!p.date_of_birth || !local) return null;
  return [identityName(p.first_name), identityName(p.last_name), p.date_of_birth, local].join('|');
}

/** A name as the identity key holds it: folded, and its words one space apart ("Mary  Ann" is "mary ann"). */
const identityName = (name: string): string => foldText(name.trim()).replace(/\s+/g, ' ');

/** An identity key written before names were folded as today (white space collapsed, apostrophes dropped), in today's form: only names hold either. */
export const refoldIdentityKey = (key: string): string => key.replace(APOSTROPHES, '').replace(/\s+/g, ' ');
