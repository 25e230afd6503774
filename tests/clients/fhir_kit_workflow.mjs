// A fhir-kit-client user's workflow against the bridge, unchanged: discovery, create, read,
// update, JSON Patch, conditional update, search by identifier with paging, by name and date, history, delete.
//
// Usage: NODE_PATH=... node fhir_kit_workflow.mjs BASE_URL TOKEN MODULES_DIR
// Exits 0 when every step behaves as on a FHIR server; prints what each step saw.

import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [base, token, modules] = process.argv.slice(2);
const { Client } = await import(pathToFileURL(path.join(modules, 'fhir-kit-client/dist/client.js')).href);
const client = new Client({ baseUrl: base, bearerToken: token });

// Discovery: the token endpoint, from .well-known/smart-configuration or the CapabilityStatement.
const auth = await client.smartAuthMetadata();
assert.ok(String(auth.tokenUrl).endsWith('/auth/token'), JSON.stringify(auth));
console.log('discovered the token endpoint');

const system = 'urn:oid:2.16.840.1.113883.4.1';
const patient = await client.create({
  resourceType: 'Patient',
  body: { resourceType: 'Patient', identifier: [{ system, value: 'fkc-1' }], name: [{ family: 'Kit' }] },
});
assert.ok(patient.id, JSON.stringify(patient));
assert.equal(patient.meta.versionId, '1');
console.log('created version 1');

const read = await client.read({ resourceType: 'Patient', id: patient.id });
assert.equal(read.name[0].family, 'Kit');

const updated = await client.update({ resourceType: 'Patient', id: patient.id, body: { ...read, gender: 'female' } });
assert.equal(updated.meta.versionId, '2');
const patched = await client.patch({
  resourceType: 'Patient',
  id: patient.id,
  jsonPatch: [{ op: 'add', path: '/active', value: true }],
});
assert.equal(patched.active, true);
assert.equal(patched.meta.versionId, '3');
console.log('updated and patched to version 3');

// Conditional update by identifier: the one match is updated.
const conditional = await client.update({
  resourceType: 'Patient',
  searchParams: { identifier: `${system}|fkc-1` },
  body: { resourceType: 'Patient', identifier: [{ system, value: 'fkc-1' }], name: [{ family: 'Kit', given: ['F'] }] },
});
assert.equal(conditional.id, patient.id);
assert.equal(conditional.meta.versionId, '4');
console.log('conditionally updated');

// Search by identifier system, two to a page, following next links.
for (const value of ['fkc-2', 'fkc-3', 'fkc-4']) {
  await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', identifier: [{ system, value }] } });
}
let page = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${system}|`, _count: 2 } });
assert.equal(page.total, 4);
const seen = [];
while (page) {
  seen.push(...(page.entry || []).map((e) => e.resource.id));
  page = await client.nextPage({ bundle: page });
}
assert.equal(new Set(seen).size, 4, JSON.stringify(seen));
console.log('searched 4 patients over pages');

// Search by name and birth date range.
await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Kitson' }], birthDate: '1999-09-09' } });
const named = await client.search({ resourceType: 'Patient', searchParams: { name: 'kit', birthdate: ['ge1999-01-01', 'lt2000'] } });
assert.deepEqual(named.entry.map((e) => e.resource.name[0].family), ['Kitson']);
console.log('searched by name and birth date');

const history = await client.history({ resourceType: 'Patient', id: patient.id });
assert.equal(history.type, 'history');
assert.deepEqual(history.entry.map((e) => e.response.etag), ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']);
console.log('history has 4 versions');

await client.delete({ resourceType: 'Patient', id: patient.id });
await assert.rejects(client.read({ resourceType: 'Patient', id: patient.id }), (error) => error.response?.status === 410);
console.log('deleted');
