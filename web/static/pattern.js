// The override form's proposal: a run's message without the parts that vary from one run to the
// next (dates, times, sizes, counts, ids), each replaced by the wildcard '*' the API's
// match_text understands — "Failed (5 errors) at 02:13" → "Failed (* errors) at *" — so the
// rule also matches tomorrow's run with another error count. Pure: no DOM, no state.

const VARYING = [
  // ISO and common date-times: 2026-12-03T02:13:00Z, 2026-12-03 02:13, 03.12.2026, 12/3/26
  /\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?/g,
  /\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b/g,
  // times: 02:13, 2:13:59, 2:13 PM
  /\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?)?/g,
  // UUIDs and long hex ids
  /\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g,
  /\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{12,}\b/g,
  // sizes and durations with their unit: 1.5 GB, 300MiB, 12 s (the unit varies with the number)
  /\b\d+(?:[.,]\d+)?\s?(?:[KMGTP]i?B|[KMGTP]|B|bytes?|ms|s|sec|min|h)\b/g,
  // any other number: 5, 1,234, 3.5, 42%
  /\d+(?:[.,]\d+)*%?/g,
];

export function proposePattern(message) {
  if (typeof message !== 'string') return '';
  let s = message.trim();
  for (const re of VARYING) s = s.replace(re, '*');
  // "* *", "*:*", "*-*": one wildcard is enough
  s = s.replace(/\*(?:[\s:.,/-]*\*)+/g, '*');
  return s;
}

// Whether text matches pattern the way the API matches match_text (case-insensitive, '*' is any
// text): for the form's "matches this run" hint.
export function patternMatches(kind, pattern, text) {
  const esc = String(pattern).toLowerCase().split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*');
  const lead = kind === 'equals' || kind === 'starts' ? '^' : '';
  const trail = kind === 'equals' || kind === 'ends' ? '$' : '';
  return new RegExp(`${lead}${esc}${trail}`).test(String(text || '').toLowerCase());
}
