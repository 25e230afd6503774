"""A fhirpy user's workflow against the bridge, unchanged: the client as its README shows it.

Usage: python fhirpy_workflow.py BASE_URL TOKEN
Exits 0 when every step behaves as on a FHIR server; prints what each step saw.
"""

import sys

from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound


def main(base, token):
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")

    # Create without an id: the server assigns one, and save() takes the answer as the resource.
    patient = client.resource(
        "Patient",
        name=[{"family": "Fhirpy", "given": ["Ada"]}],
        identifier=[{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "fp-12345"}],
        birthDate="1980-02-03",
    )
    patient.save()
    assert patient.id, f"save() gave no id: {patient.serialize()}"
    assert patient["meta"]["versionId"] == "1", patient.serialize()
    print("created", patient["resourceType"], "version", patient["meta"]["versionId"])

    # Read it back by reference.
    read = client.reference("Patient", patient.id).to_resource()
    assert read["name"][0]["family"] == "Fhirpy", read.serialize()
    assert read["birthDate"] == "1980-02-03"

    # Update: save() on a resource with an id is a PUT; the answer is version 2.
    patient["active"] = True
    patient.save()
    assert patient["meta"]["versionId"] == "2", patient.serialize()
    assert client.reference("Patient", patient.id).to_resource()["active"] is True
    print("updated to version", patient["meta"]["versionId"])

    # A created resource with a given id, linked to the patient, and found by patient search.
    observation = client.resource(
        "Observation",
        id="fhirpy-obs-1",
        status="final",
        code={"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Heart rate"},
        subject={"reference": f"Patient/{patient.id}"},
        valueQuantity={"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    )
    observation.save()
    found = client.resources("Observation").search(patient=patient.id).fetch()
    assert [o.id for o in found] == ["fhirpy-obs-1"], [o.serialize() for o in found]
    print("found", len(found), "observation by patient")

    # Search by identifier (system|value), and by code and subject together.
    by_mrn = client.resources("Patient").search(identifier="urn:oid:1.2.36.146.595.217.0.1|fp-12345").fetch()
    assert [p.id for p in by_mrn] == [patient.id], [p.serialize() for p in by_mrn]
    by_code = client.resources("Observation").search(code="http://loinc.org|8867-4", subject=f"Patient/{patient.id}").fetch()
    assert [o.id for o in by_code] == ["fhirpy-obs-1"], [o.serialize() for o in by_code]
    print("found the patient by identifier")

    # Search by name and birth date (fhirpy's birthdate__ge is birthdate=ge...), two to a page,
    # every page followed; count() asks for the total alone.
    for given, born in [("Bea", "1990-06-01"), ("Cy", "1975-01-01"), ("Di", "1981-12-31")]:
        client.resource("Patient", name=[{"family": "Fhirpy", "given": [given]}], birthDate=born).save()
    named = client.resources("Patient").search(name="fhirp", birthdate__ge="1980").limit(2).fetch_all()
    givens = sorted(p["name"][0]["given"][0] for p in named)
    assert givens == ["Ada", "Bea", "Di"], givens
    assert client.resources("Patient").search(family="FHIRPY").count() == 4
    born_1975 = client.resources("Patient").search(birthdate="1975").fetch()
    assert [p["name"][0]["given"][0] for p in born_1975] == ["Cy"], [p.serialize() for p in born_1975]
    print("found", len(named), "patients by name and birth date over pages")

    # History of the patient: two versions, newest first.
    history = client.execute(f"Patient/{patient.id}/_history", method="get")
    assert history["type"] == "history", history
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"'], history
    print("history has", len(history["entry"]), "versions")

    # An invalid resource is refused with an OperationOutcome that names the element.
    bad = client.resource("Patient", birthDate="1980-13-40")
    try:
        bad.save()
        raise AssertionError("an invalid birthDate was accepted")
    except OperationOutcome as outcome:
        text = str(outcome)
        assert "birthDate" in text, text
        print("refused an invalid resource")

    # Delete: the resource is gone for the client (fhirpy raises ResourceNotFound on 410).
    observation.delete()
    try:
        client.reference("Observation", "fhirpy-obs-1").to_resource()
        raise AssertionError("a deleted resource was still read")
    except ResourceNotFound:
        print("deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
