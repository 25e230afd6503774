"""A fhirclient (smart-on-fhir/client-py) user's workflow against the bridge, unchanged: a SMART
Backend Services client that signs its own ES384 client assertion for the token endpoint the
server's discovery names, then creates, reads, updates, searches (by identifier, name and birth
date, over pages), reads history and deletes with the library's models.

Usage: python fhirclient_workflow.py BASE_URL CLIENT_ID PRIVATE_KEY_PEM
Exits 0 when every step behaves as on a FHIR server; prints what each step saw.
"""

import json
import sys
import time
import urllib.request
import uuid

import jwt
from fhirclient import client
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.humanname import HumanName
from fhirclient.models.identifier import Identifier
from fhirclient.models.patient import Patient


def assertion(token_url, client_id, key_pem):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url, "exp": now + 240, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key_pem, algorithm="ES384", headers={"typ": "JWT"})


def main(base, client_id, key_path):
    # Discovery, as a backend client does it: where to get a token.
    with urllib.request.urlopen(f"{base}/.well-known/smart-configuration") as answer:
        smart = json.load(answer)
    token_url = smart["token_endpoint"]
    assert "private_key_jwt" in smart["token_endpoint_auth_methods_supported"], smart
    with open(key_path) as key_file:
        key_pem = key_file.read()

    settings = {
        "app_id": client_id,
        "api_base": base,
        "jwt_token": assertion(token_url, client_id, key_pem),
        "scope": "system/Patient.cruds",
    }
    smart_client = client.FHIRClient(settings=settings)
    smart_client.wants_patient = False  # a backend service has no patient launch
    smart_client.prepare()  # reads the CapabilityStatement: its oauth-uris extension names the token URL
    smart_client.authorize()
    server = smart_client.server
    assert smart_client.ready, "no access token"
    print("authorized as", client_id)

    # Create: the server assigns the id and answers the resource.
    patient = Patient()
    patient.name = [HumanName({"family": "Clientpy", "given": ["Grace"]})]
    patient.identifier = [Identifier({"system": "urn:oid:1.2.3.4", "value": "fc-1"})]
    patient.birthDate = FHIRDate("1975-06-15")
    created = patient.create(server)
    assert created and created.get("id"), created
    patient_id = created["id"]
    assert created["meta"]["versionId"] == "1", created
    print("created Patient", patient_id)

    # Read it back with the model, update it, read version 2.
    read = Patient.read(patient_id, server)
    assert read.name[0].family == "Clientpy", read.as_json()
    read.active = True
    updated = read.update(server)
    assert updated["meta"]["versionId"] == "2", updated
    assert Patient.read(patient_id, server).active is True
    print("updated to version 2")

    # More patients, then searches through the library's search structs, over pages.
    for given, born in [("Hal", "1980-01-01"), ("Ivy", "1990-12-31"), ("Jo", "1979-03-03")]:
        other = Patient()
        other.name = [HumanName({"family": "Clientpy", "given": [given]})]
        other.birthDate = FHIRDate(born)
        other.create(server)
    by_identifier = list(Patient.where(struct={"identifier": "urn:oid:1.2.36.4|nobody"}).perform_resources_iter(server))
    assert by_identifier == [], [p.as_json() for p in by_identifier]
    by_identifier = list(Patient.where(struct={"identifier": "urn:oid:1.2.3.4|fc-1"}).perform_resources_iter(server))
    assert [p.id for p in by_identifier] == [patient_id], [p.as_json() for p in by_identifier]
    # Born on or after June 1979: Hal and Ivy (not Grace, 1975, nor Jo, March 1979), a page each.
    named = Patient.where(struct={"name": "clientp", "birthdate": "ge1979-06-01", "_count": "1"})
    givens = sorted(p.name[0].given[0] for p in named.perform_resources_iter(server) if p.resource_type == "Patient")
    assert givens == ["Hal", "Ivy"], givens
    print("found", len(givens), "patients by name and birth date over pages")

    # History, and delete.
    history = server.request_json(f"Patient/{patient_id}/_history")
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"'], history
    Patient.read(patient_id, server).delete(server)
    try:
        Patient.read(patient_id, server)
    except Exception as gone:  # requests' HTTPError from the library's server
        assert "410" in str(gone), gone
    else:
        raise AssertionError("a deleted patient was read")
    print("deleted, and gone")


if __name__ == "__main__":
    main(*sys.argv[1:4])
