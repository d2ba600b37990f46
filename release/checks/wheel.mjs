// What PyPI shows of a wheel: its METADATA (core metadata,
// https://packaging.python.org/en/latest/specifications/core-metadata/). twine
// check validates the format and the README's rendering; this checks that the
// fields a user and Construct Hub read are there and right. Pure.

/** The header fields of a METADATA text: { Field: [values] } (the README body after the blank line is left out). */
export function metadataFields(text) {
  const header = text.split(/\r?\n\r?\n/)[0];
  const fields = {};
  let last;
  for (const line of header.split(/\r?\n/)) {
    if (/^\s/.test(line) && last) {
      fields[last][fields[last].length - 1] += `\n${line.trim()}`;
      continue;
    }
    const m = /^([A-Za-z][\w-]*): ?(.*)$/.exec(line);
    if (!m) continue;
    last = m[1];
    (fields[last] ??= []).push(m[2]);
  }
  return fields;
}

const normalize = (name) => name.toLowerCase().replace(/[-_.]+/g, '-');

/** The problems of a wheel's METADATA against the expected name, version and license. */
export function wheelMetadataProblems(text, { name, version, license }) {
  const problems = [];
  const fields = metadataFields(text);
  const one = (field) => fields[field]?.[0]?.trim();
  if (!one('Metadata-Version')) problems.push('Metadata-Version is missing');
  if (!one('Name')) problems.push('Name is missing');
  else if (normalize(one('Name')) !== normalize(name)) problems.push(`Name is ${one('Name')}, expected ${name}`);
  if (one('Version') !== version) problems.push(`Version is ${one('Version') ?? 'missing'}, expected ${version}`);
  if (!one('Summary')) problems.push('Summary is missing');
  if (!one('Requires-Python')) problems.push('Requires-Python is missing');
  if (!(one('Home-page') || fields['Project-URL']?.length)) problems.push('no Home-page or Project-URL');
  const licenses = [one('License-Expression'), one('License'), ...(fields.Classifier ?? []).filter((c) => c.startsWith('License ::'))].filter(
    Boolean,
  );
  if (!licenses.some((l) => l.includes(license) || (license === 'Apache-2.0' && l.includes('Apache Software License')))) {
    problems.push(`no license field or classifier names ${license}`);
  }
  if (!(fields.Classifier ?? []).some((c) => c.startsWith('Development Status ::')))
    problems.push('no "Development Status" classifier (the stability)');
  if (!/^text\/markdown/.test(one('Description-Content-Type') ?? ''))
    problems.push('Description-Content-Type is not text/markdown (the README would not render)');
  return problems;
}
