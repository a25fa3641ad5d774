//! Booking through GP Connect, as a 111 consumer and as a practice's own system: patients,
//! book, read, amend, cancel, a patient's appointments; the refusals GP Connect names; retries;
//! and the same appointment seen through the JSON API.

use reqwest::Method;
use serde_json::{json, Value};

use super::{helpers, Call, Consumer, Gpc, WEEK};

const BOOK: &str = "urn:nhs:names:services:gpconnect:fhir:rest:create:appointment-1";
const READ: &str = "urn:nhs:names:services:gpconnect:fhir:rest:read:appointment-1";
const AMEND: &str = "urn:nhs:names:services:gpconnect:fhir:rest:update:appointment-1";
const CANCEL: &str = "urn:nhs:names:services:gpconnect:fhir:rest:cancel:appointment-1";
const PATIENT_APPOINTMENTS: &str =
    "urn:nhs:names:services:gpconnect:fhir:rest:search:patient_appointments-1";
const SEARCH_PATIENT: &str = "urn:nhs:names:services:gpconnect:fhir:rest:search:patient-1";
const READ_PATIENT: &str = "urn:nhs:names:services:gpconnect:fhir:rest:read:patient-1";
const REGISTER: &str = "urn:nhs:names:services:gpconnect:fhir:operation:gpc.registerpatient-1";
const PROFILE: &str = "https://fhir.nhs.uk/STU3/StructureDefinition/";
const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// Test patients: NHS numbers of the 999 range, invented names.
pub const PATIENT_1: &str = "9990000018";
pub const PATIENT_2: &str = "9990000026";

fn register_call(nhs: &str, family: &str) -> Call {
    Call::with_body(
        Method::POST,
        "/Patient/$gpc.registerpatient",
        REGISTER,
        "patient/*.write",
        json!({"resourceType": "Parameters", "parameter": [{"name": "registerPatient", "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": NHS, "value": nhs}],
            "name": [{"use": "official", "family": family, "given": ["Ada"]}],
            "gender": "female",
            "birthDate": "1990-02-03",
            "telecom": [{"system": "phone", "value": "07700 900123"}],
        }}]}),
    )
}

/// Registers a patient with the consumer.
pub async fn register(c: &mut Consumer<'_>, nhs: &str, family: &str) -> Value {
    let answer = c.send(register_call(nhs, family)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["entry"][0]["resource"].clone()
}

/// The free slots of the published week as the consumer sees them (searched as `org_type`), in
/// time order, each with its schedule's Location reference.
pub async fn free_slots(c: &mut Consumer<'_>, org_type: &str) -> Vec<(Value, String)> {
    slots_found(c, &WEEK.replace("urgent-care", org_type)).await
}

/// The free slots a slot search (`query`) finds, as [`free_slots`] gives them.
pub async fn slots_found(c: &mut Consumer<'_>, query: &str) -> Vec<(Value, String)> {
    let answer = c.send(super::slots(query)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let entries = answer.body["entry"].as_array().cloned().unwrap_or_default();
    let schedule_location = |reference: &str| -> String {
        entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| format!("Schedule/{}", r["id"].as_str().unwrap()) == reference)
            .unwrap()["actor"][0]["reference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut slots: Vec<(Value, String)> = entries
        .iter()
        .map(|e| e["resource"].clone())
        .filter(|r| r["resourceType"] == "Slot")
        .map(|s| {
            let location = schedule_location(s["schedule"]["reference"].as_str().unwrap());
            (s, location)
        })
        .collect();
    slots.sort_by(|a, b| a.0["start"].as_str().cmp(&b.0["start"].as_str()));
    slots
}

/// The standard booking of `slot` for `patient`, by an invented booking organisation.
pub fn booking(slot: &(Value, String), patient: &str, org_type: &str) -> Value {
    let (slot, location) = slot;
    json!({
        "resourceType": "Appointment",
        "meta": {"profile": [format!("{PROFILE}GPConnect-Appointment-1")]},
        "contained": [{
            "resourceType": "Organization", "id": "1",
            "meta": {"profile": [format!("{PROFILE}CareConnect-GPC-Organization-1")]},
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A20047"}],
            "type": [{"coding": [{"system": "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1", "code": org_type}]}],
            "name": "Invented Urgent Care",
            "telecom": [{"system": "phone", "value": "0300 303 5678"}],
        }],
        "extension": [
            {"url": format!("{PROFILE}Extension-GPConnect-BookingOrganisation-1"), "valueReference": {"reference": "#1"}},
            {"url": format!("{PROFILE}Extension-GPConnect-DeliveryChannel-2"), "valueCode": slot["extension"][0]["valueCode"]},
        ],
        "status": "booked",
        "description": "Sore throat for three days",
        "start": slot["start"],
        "end": slot["end"],
        "slot": [{"reference": format!("Slot/{}", slot["id"].as_str().unwrap())}],
        "created": "2026-12-01T08:00:00+00:00",
        "comment": "Prefers a call after 5pm",
        "participant": [
            {"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"},
            {"actor": {"reference": location}, "status": "accepted"},
        ],
    })
}

fn book_call(body: Value) -> Call {
    Call::with_body(Method::POST, "/Appointment", BOOK, "patient/*.write", body)
}

fn read_call(id: &str) -> Call {
    Call::get(&format!("/Appointment/{id}"), READ, "patient/*.read")
}

fn put_call(id: &str, interaction: &str, body: Value) -> Call {
    Call::with_body(
        Method::PUT,
        &format!("/Appointment/{id}"),
        interaction,
        "patient/*.write",
        body,
    )
}

fn patient_appointments(nhs: &str, query: &str) -> Call {
    Call::get(
        &format!("/Patient/{nhs}/Appointment?{query}"),
        PATIENT_APPOINTMENTS,
        "patient/*.read",
    )
}

fn extension<'a>(appointment: &'a Value, name: &str) -> Option<&'a Value> {
    appointment["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == format!("{PROFILE}{name}"))
}

/// Checks what the GP Connect profile requires of an Appointment answer.
fn valid_appointment(a: &Value) {
    assert_eq!(a["resourceType"], "Appointment", "{a}");
    assert_eq!(
        a["meta"]["profile"],
        json!([format!("{PROFILE}GPConnect-Appointment-1")])
    );
    for element in ["id", "status", "start", "end", "created", "description"] {
        assert!(a[element].is_string(), "{element} in {a}");
    }
    assert!(a["meta"]["versionId"].is_string());
    assert!(a.get("reason").is_none() && a.get("specialty").is_none());
    let slots = a["slot"].as_array().unwrap();
    assert!(!slots.is_empty());
    assert!(slots
        .iter()
        .all(|s| s["reference"].as_str().unwrap().starts_with("Slot/")));
    let refs: Vec<&str> = a["participant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["actor"]["reference"].as_str().unwrap())
        .collect();
    assert!(refs.iter().any(|r| r.starts_with("Patient/")), "{a}");
    assert!(refs.iter().any(|r| r.starts_with("Location/")), "{a}");
    for contained in a["contained"].as_array().into_iter().flatten() {
        assert_eq!(contained["resourceType"], "Organization");
        assert!(contained["id"].is_string() && contained["name"].is_string());
        assert!(contained["telecom"].is_array());
    }
    assert!(a["serviceType"][0]["text"].is_string());
    assert!(a["serviceCategory"]["text"].is_string());
}

pub async fn a_111_consumer_books_reads_amends_and_cancels(g: Gpc) {
    let mut c = Consumer::new(&g);
    // A patient hubbook has never seen is not found, then registered, then found and read.
    let search = Call::get(
        &format!("/Patient?identifier={NHS}%7C{PATIENT_1}"),
        SEARCH_PATIENT,
        "patient/*.read",
    );
    let none = c.send(search).await;
    assert_eq!(none.status, 200, "{}", none.body);
    assert!(none.body.get("entry").is_none(), "{}", none.body);
    c.send(Call::get(
        &format!("/Patient/{PATIENT_1}"),
        READ_PATIENT,
        "patient/*.read",
    ))
    .await
    .refused(404, "PATIENT_NOT_FOUND");
    let patient = register(&mut c, PATIENT_1, "Rivers").await;
    assert_eq!(patient["id"], PATIENT_1);
    assert_eq!(
        patient["meta"]["profile"],
        json!([format!("{PROFILE}CareConnect-GPC-Patient-1")])
    );
    let read_patient = c
        .send(Call::get(
            &format!("/Patient/{PATIENT_1}"),
            READ_PATIENT,
            "patient/*.read",
        ))
        .await;
    assert_eq!(read_patient.status, 200, "{}", read_patient.body);
    assert_eq!(read_patient.body["name"][0]["family"], "Rivers");
    assert_eq!(read_patient.etag, "W/\"1\"");

    // Book the first free slot.
    let slots = free_slots(&mut c, "urgent-care").await;
    let first = slots[0].clone();
    let sent = booking(&first, PATIENT_1, "urgent-care");
    let booked = c.send(book_call(sent.clone())).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    assert!(booked.cache_control.contains("no-store"));
    let a = booked.body.clone();
    valid_appointment(&a);
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(booked.etag, "W/\"1\"");
    assert_eq!(
        booked.location,
        format!("/gpconnect/fhir/Appointment/{id}/_history/1")
    );
    assert_eq!(a["status"], "booked");
    assert_eq!(a["start"], first.0["start"]);
    assert_eq!(a["end"], first.0["end"]);
    assert_eq!(a["description"], "Sore throat for three days");
    assert_eq!(a["comment"], "Prefers a call after 5pm");
    // The booking organisation comes back whole, with the delivery channel and role.
    let org = &a["contained"][0];
    assert_eq!(org["identifier"][0]["value"], "A20047");
    assert_eq!(org["name"], "Invented Urgent Care");
    assert_eq!(org["telecom"][0]["value"], "0300 303 5678");
    assert_eq!(org["type"][0]["coding"][0]["code"], "urgent-care");
    assert_eq!(
        extension(&a, "Extension-GPConnect-BookingOrganisation-1").unwrap()["valueReference"]
            ["reference"],
        "#1"
    );
    assert_eq!(
        extension(&a, "Extension-GPConnect-DeliveryChannel-2").unwrap()["valueCode"],
        first.0["extension"][0]["valueCode"]
    );
    assert!(extension(&a, "Extension-GPConnect-PractitionerRole-1").is_some());

    // The slot is no longer free, and the JSON API shows the same appointment to the 111
    // client and the manager.
    let after = free_slots(&mut c, "urgent-care").await;
    assert_eq!(after.len(), slots.len() - 1);
    assert!(after.iter().all(|(s, _)| s["id"] != first.0["id"]));
    for token in [&g.triage, &g.manager] {
        let native = g
            .app
            .get(&format!("/api/v1/appointments/{id}"), token)
            .await;
        let native = native.ok(200);
        assert_eq!(native["slot_id"], first.0["id"]);
        assert_eq!(native["patient"]["nhs_number"], PATIENT_1);
        assert_eq!(native["patient"]["name"], "Ada Rivers");
        assert_eq!(native["reason"], "Sore throat for three days");
        assert_eq!(native["status"], "booked");
    }

    // Read it back: the same resource and ETag.
    let read = c.send(read_call(&id)).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.etag, "W/\"1\"");
    assert_eq!(read.body, a);
    c.send(read_call("Invalid4321"))
        .await
        .refused(404, "NO_RECORD_FOUND");
    // A control character in the id: refused alike on both databases, before either sees it.
    c.send(read_call("a%00b")).await.refused(400, "BAD_REQUEST");

    // Amend the description with the current ETag; a stale one is refused.
    let mut amended = a.clone();
    amended["description"] = json!("Sore throat, now a fever");
    amended.as_object_mut().unwrap().remove("comment");
    let answer = c
        .send(put_call(&id, AMEND, amended.clone()).set("If-Match", "W/\"1\""))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["description"], "Sore throat, now a fever");
    assert!(answer.body.get("comment").is_none(), "{}", answer.body);
    assert_eq!(answer.etag, "W/\"2\"");
    c.send(put_call(&id, AMEND, amended.clone()).set("If-Match", "W/\"1\""))
        .await
        .refused(409, "FHIR_CONSTRAINT_VIOLATION");
    c.send(put_call(&id, AMEND, amended.clone()).set("If-Match", "W/\"invalidEtag\""))
        .await
        .refused(409, "FHIR_CONSTRAINT_VIOLATION");
    // An amend changes only the description and comment.
    for change in [
        json!({"start": after[0].0["start"]}),
        json!({"status": "noshow"}),
        json!({"priority": 1}),
        json!({"reason": [{"text": "x"}]}),
    ] {
        let mut body = answer.body.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        c.send(put_call(&id, AMEND, body))
            .await
            .refused(422, "INVALID_RESOURCE");
    }

    // Cancel with a reason: everything else stays as it was.
    let mut cancelling = answer.body.clone();
    cancelling["status"] = json!("cancelled");
    cancelling["extension"]
        .as_array_mut()
        .unwrap()
        .push(json!({"url": format!("{PROFILE}Extension-GPConnect-AppointmentCancellationReason-1"), "valueString": "double booked"}));
    // Without a reason, or changing the description while cancelling, it is refused.
    let mut no_reason = cancelling.clone();
    no_reason["extension"]
        .as_array_mut()
        .unwrap()
        .last_mut()
        .unwrap()["valueString"] = json!("");
    c.send(put_call(&id, CANCEL, no_reason))
        .await
        .refused(422, "INVALID_PARAMETER");
    let mut also_description = cancelling.clone();
    also_description["description"] = json!("changed");
    c.send(put_call(&id, CANCEL, also_description))
        .await
        .refused(422, "INVALID_RESOURCE");
    let cancelled = c.send(put_call(&id, CANCEL, cancelling.clone())).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let done = &cancelled.body;
    valid_appointment(done);
    assert_eq!(done["status"], "cancelled");
    assert_eq!(
        extension(done, "Extension-GPConnect-AppointmentCancellationReason-1").unwrap()
            ["valueString"],
        "double booked"
    );
    for same in [
        "id",
        "description",
        "start",
        "end",
        "slot",
        "participant",
        "created",
        "contained",
    ] {
        assert_eq!(done[same], answer.body[same], "{same}");
    }
    assert_ne!(done["meta"]["versionId"], answer.body["meta"]["versionId"]);
    // The JSON API agrees, and the slot is free again.
    let native = g
        .app
        .get(&format!("/api/v1/appointments/{id}"), &g.triage)
        .await;
    assert_eq!(native.ok(200)["status"], "cancelled");
    assert_eq!(free_slots(&mut c, "urgent-care").await.len(), slots.len());
    // A cancelled appointment is not amended.
    let mut late = done.clone();
    late["status"] = json!("booked");
    late["extension"].as_array_mut().unwrap().pop();
    c.send(put_call(&id, AMEND, late))
        .await
        .refused(422, "INVALID_RESOURCE");

    // The patient's appointments, cancelled included; none for a patient without.
    let listed = c
        .send(patient_appointments(
            PATIENT_1,
            "start=ge2026-12-01&start=le2026-12-14",
        ))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let entries = listed.body["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["resource"]["id"], id.as_str());
    let empty = c
        .send(patient_appointments(
            PATIENT_2,
            "start=ge2026-12-01&start=le2026-12-14",
        ))
        .await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.get("entry").is_none());
    c.send(patient_appointments(
        "dd",
        "start=ge2026-12-01&start=le2026-12-14",
    ))
    .await
    .refused(404, "PATIENT_NOT_FOUND");
    for bad in [
        "start=ge2026-12-01",
        "start=ge2026-11-20&start=le2026-12-14",
        "start=ge2026-12-05&start=le2026-12-03",
        "start=ge2026-12-01&start=le2026-12-14T10:00:00",
    ] {
        c.send(patient_appointments(PATIENT_1, bad))
            .await
            .refused(422, "INVALID_PARAMETER");
    }
    // Prefer: return=minimal answers no body.
    let mut again = booking(&after[0], PATIENT_1, "urgent-care");
    again["description"] = json!("Second look");
    let minimal = c
        .send(book_call(again).set("Prefer", "return=minimal"))
        .await;
    assert_eq!(minimal.status, 201);
    assert_eq!(minimal.body, Value::Null);
    assert_eq!(minimal.etag, "W/\"1\"");
    c.all_parse_as_stu3();
}

pub async fn a_booking_is_refused_as_gp_connect_has_it(g: Gpc) {
    let mut c = Consumer::new(&g);
    register(&mut c, PATIENT_1, "Rivers").await;
    register(&mut c, PATIENT_2, "Brook").await;
    let slots = free_slots(&mut c, "urgent-care").await;
    let good = booking(&slots[0], PATIENT_1, "urgent-care");

    // A body GP Connect refuses: reason, an unknown element, times not the slot's, no Location,
    // an absolute booking organisation.
    let refusals: Vec<(&str, Value)> = vec![
        ("INVALID_RESOURCE", {
            let mut b = good.clone();
            b["reason"] =
                json!([{"coding": [{"system": "http://snomed.info/sct", "code": "17436001"}]}]);
            b
        }),
        ("INVALID_RESOURCE", {
            let mut b = good.clone();
            b["invalidField"] = json!("x");
            b
        }),
        ("INVALID_RESOURCE", {
            let mut b = good.clone();
            b["end"] = slots[1].0["end"].clone();
            b
        }),
        ("INVALID_RESOURCE", {
            let mut b = good.clone();
            b["participant"].as_array_mut().unwrap().pop();
            b
        }),
        ("INVALID_RESOURCE", {
            let mut b = good.clone();
            b["extension"][0]["valueReference"]["reference"] = json!("https://consumer.example/#1");
            b
        }),
        ("REFERENCE_NOT_FOUND", {
            let mut b = good.clone();
            b["slot"][0]["reference"] = json!("Slot/no-such-slot");
            b
        }),
        (
            "REFERENCE_NOT_FOUND",
            booking(&slots[0], "9990000034", "urgent-care"),
        ),
        // A NUL in a text: refused alike on both databases, before either sees it.
        ("INVALID_PARAMETER", {
            let mut b = good.clone();
            b["comment"] = json!("call before\u{0}noon");
            b
        }),
    ];
    for (code, body) in refusals {
        c.send(book_call(body)).await.refused(422, code);
    }
    // The wrong interaction id, or a JWT without the write scope or expired, is refused.
    c.send(book_call(good.clone()).set("Ssp-InteractionID", READ))
        .await
        .refused(400, "BAD_REQUEST");
    c.send(book_call(good.clone()).claims_for("patient/*.read", |_| {}))
        .await
        .refused(400, "BAD_REQUEST");
    c.send(
        book_call(good.clone()).claims_for("patient/*.write", |claims| {
            claims["iat"] = json!(super::now() - 600);
            claims["exp"] = json!(super::now() - 300);
        }),
    )
    .await
    .refused(400, "BAD_REQUEST");
    c.send(
        book_call(good.clone()).claims_for("patient/*.write", |claims| {
            claims
                .as_object_mut()
                .unwrap()
                .remove("requesting_practitioner");
        }),
    )
    .await
    .refused(400, "BAD_REQUEST");
    // Nothing was booked by any of them.
    assert_eq!(free_slots(&mut c, "urgent-care").await.len(), slots.len());

    // A retry with the same Ssp-TraceID and body books once and answers the same appointment;
    // the same trace id with another body is refused.
    let first = book_call(good.clone());
    let trace_id = first.trace_id();
    let booked = c.send(first).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let retry = c
        .send(book_call(good.clone()).set("Ssp-TraceID", &trace_id))
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body["id"], booked.body["id"]);
    assert_eq!(
        free_slots(&mut c, "urgent-care").await.len(),
        slots.len() - 1
    );
    let mut other = booking(&slots[1], PATIENT_2, "urgent-care");
    other["description"] = json!("Another patient");
    c.send(book_call(other).set("Ssp-TraceID", &trace_id))
        .await
        .refused(409, "DUPLICATE_REJECTED");
    // The slot taken: another booking of it is DUPLICATE_REJECTED.
    c.send(book_call(booking(&slots[0], PATIENT_2, "urgent-care")))
        .await
        .refused(409, "DUPLICATE_REJECTED");
    c.all_parse_as_stu3();
}

/// An integration bound to the cluster's first practice (the fixture's receptionist's), with a
/// client certificate registered.
async fn practice_consumer(g: &Gpc) -> super::pki::ClientCert {
    let code = "U90001";
    let practices = g
        .app
        .get(&format!("/api/v1/clusters/{code}/practices"), &g.manager)
        .await;
    let ods = practices.ok(200)["items"][0]["ods_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = g
        .app
        .post(
            "/api/v1/integrations",
            &g.manager,
            json!({"name": "Test Surgery's own system", "clusters": [code], "practice": ods}),
        )
        .await;
    let created = created.ok(201);
    assert_eq!(created["practice"], ods.as_str());
    let id = created["id"].as_str().unwrap();
    let cert = g.pki.client("Test Surgery system");
    g.app
        .post(
            &format!("/api/v1/integrations/{id}/certificates"),
            &g.app.admin,
            json!({"certificate": cert.cert}),
        )
        .await
        .ok(201);
    cert
}

pub async fn a_practice_consumer_sees_and_books_what_its_receptionists_do(g: Gpc) {
    let cert = practice_consumer(&g).await;
    let mut practice = Consumer::with(&g, Some(&cert));
    let mut nhs111 = Consumer::new(&g);
    // The practice's view is the receptionist's JSON API view: its reserved slots and the open
    // ones, never the other practice's reserved slots nor 111's.
    let seen = free_slots(&mut practice, "gp-practice").await;
    let mut expected = super::api_week_slot_ids(&g.app, &g.receptionist).await;
    let mut got: Vec<String> = seen
        .iter()
        .map(|(s, _)| s["id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let for_111: Vec<String> = free_slots(&mut nhs111, "urgent-care")
        .await
        .iter()
        .map(|(s, _)| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(for_111.len(), 10);
    assert!(got.iter().all(|id| !for_111.contains(id)));
    // 18 slots a day for five days: what neither 111 nor this practice sees is the other
    // practice's.
    assert!(
        got.len() + for_111.len() < 90,
        "the other practice's reserved slots are hidden: {} seen",
        got.len()
    );
    // A practice consumer is not urgent care.
    practice
        .send(super::slots(WEEK))
        .await
        .refused(403, "ACCESS_DENIED");

    // It books as the practice: the receptionist sees the appointment in the JSON API.
    register(&mut practice, PATIENT_1, "Rivers").await;
    let booked = practice
        .send(book_call(booking(&seen[0], PATIENT_1, "gp-practice")))
        .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let id = booked.body["id"].as_str().unwrap();
    let native = g
        .app
        .get(&format!("/api/v1/appointments/{id}"), &g.receptionist)
        .await;
    let native = native.ok(200);
    assert_eq!(native["patient"]["nhs_number"], PATIENT_1);
    assert_eq!(native["slot_id"], seen[0].0["id"]);
    // And in the console, the receptionist's appointment page shows it: the patient, the time,
    // the description and the comment (as notes for the clinician) the practice's system gave.
    let mut desk = super::browser::Browser::with_client(&g.app, g.pki.https_no_redirects());
    desk.sign_in("rec-u90001", helpers::PASSWORD).await;
    let page = desk.get(&format!("/appointments/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Ada Rivers",
        "Sore throat for three days",
        "Monday 7 December 2026 at 9am to 9:10am",
        "Prefers a call after 5pm",
    ] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    // The 111 consumer sees neither the appointment nor the patient the practice registered.
    nhs111
        .send(read_call(id))
        .await
        .refused(404, "NO_RECORD_FOUND");
    let search = Call::get(
        &format!("/Patient?identifier={NHS}%7C{PATIENT_1}"),
        SEARCH_PATIENT,
        "patient/*.read",
    );
    assert!(nhs111.send(search).await.body.get("entry").is_none());
    practice.all_parse_as_stu3();
    nhs111.all_parse_as_stu3();
}

pub async fn a_booking_made_in_the_api_is_the_same_in_gp_connect(g: Gpc) {
    // A receptionist books through the JSON API; the practice's system finds the patient by
    // NHS number (hubbook holds no register: the appointment is how it knows them) and their
    // appointment, with the same times and slot.
    let slot = g
        .app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=1",
            &g.receptionist,
        )
        .await;
    let slot = slot.ok(200)["items"][0].clone();
    let booked = g
        .app
        .send(
            Method::POST,
            "/api/v1/appointments",
            Some(&g.receptionist),
            Some(json!({"slot_id": slot["slot_id"], "reason": "Blood pressure review", "patient": {
                "nhs_number": PATIENT_2, "name": "Bea Brook", "birth_date": "1950-06-01", "phone": "07700 900456"}})),
            &[("Idempotency-Key", "api-booking-1")],
        )
        .await;
    let booked = booked.ok(201);
    let cert = practice_consumer(&g).await;
    let mut c = Consumer::with(&g, Some(&cert));
    let found = c
        .send(Call::get(
            &format!("/Patient?identifier={NHS}%7C{PATIENT_2}"),
            SEARCH_PATIENT,
            "patient/*.read",
        ))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let patient = &found.body["entry"][0]["resource"];
    assert_eq!(patient["id"], PATIENT_2);
    assert_eq!(patient["birthDate"], "1950-06-01");
    let listed = c
        .send(patient_appointments(
            PATIENT_2,
            "start=ge2026-12-01&start=le2026-12-14",
        ))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let a = &listed.body["entry"][0]["resource"];
    valid_appointment(a);
    assert_eq!(a["id"], booked["id"]);
    assert_eq!(
        a["slot"][0]["reference"],
        format!("Slot/{}", slot["slot_id"].as_str().unwrap())
    );
    assert_eq!(
        helpers::at(a["start"].as_str().unwrap()),
        helpers::at(slot["starts_at"].as_str().unwrap())
    );
    assert_eq!(a["description"], "Blood pressure review");
    c.all_parse_as_stu3();
}

/// Reads a bulk file (or the manifest) as the consumer: status, ETag and body.
async fn bulk_get(
    c: &Consumer<'_>,
    url: &str,
    if_none_match: Option<&str>,
) -> (u16, String, String) {
    let mut request = c.client.get(url);
    if let Some(tag) = if_none_match {
        request = request.header("If-None-Match", tag);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let tag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, tag, response.text().await.unwrap())
}

pub async fn aggregators_read_bulk_availability_with_etags_and_since(g: Gpc) {
    let mut c = Consumer::new(&g);
    let base = format!("{}/gpconnect/fhir", g.app.base);
    let (status, tag, body) = bulk_get(&c, &format!("{base}/$bulk-publish"), None).await;
    assert_eq!(status, 200, "{body}");
    let manifest: Value = serde_json::from_str(&body).unwrap();
    let outputs = manifest["output"].as_array().unwrap();
    let kinds: Vec<&str> = outputs
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Location", "Schedule", "Slot"]);
    assert!(manifest["transactionTime"].is_string());
    // Unchanged, the manifest answers 304 to its ETag.
    let (status, _, body) = bulk_get(&c, &format!("{base}/$bulk-publish"), Some(&tag)).await;
    assert_eq!((status, body.as_str()), (304, ""));

    let url = |kind: &str| {
        outputs.iter().find(|o| o["type"] == kind).unwrap()["url"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let ndjson = |body: &str| -> Vec<Value> {
        body.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (status, slot_tag, body) = bulk_get(&c, &url("Slot"), None).await;
    assert_eq!(status, 200);
    let slots = ndjson(&body);
    // Every slot of the published week, free and busy: free exactly where the search offers it.
    assert_eq!(slots.len(), 90, "18 slots a day for five days");
    let free: Vec<&Value> = slots.iter().filter(|s| s["status"] == "free").collect();
    let searched = free_slots(&mut c, "urgent-care").await;
    assert_eq!(free.len(), searched.len());
    for s in &slots {
        let capacity = &s["extension"][0];
        assert_eq!(
            capacity["url"],
            "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"
        );
        assert_eq!(
            capacity["valueInteger"],
            if s["status"] == "free" { 1 } else { 0 }
        );
    }
    let (_, _, body) = bulk_get(&c, &url("Location"), None).await;
    let locations = ndjson(&body);
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0]["resourceType"], "Location");
    let (_, _, body) = bulk_get(&c, &url("Schedule"), None).await;
    assert_eq!(ndjson(&body).len(), 5, "a session a day");

    // A booking changes the Slot file: its ETag moves on, and `_since` before the booking lists
    // the booked slot, now busy, alone.
    let (status, _, _) = bulk_get(&c, &url("Slot"), Some(&slot_tag)).await;
    assert_eq!(status, 304);
    // A minute later (the JWT lives five).
    g.app.clock.set(helpers::at("2026-12-01T08:01:00Z"));
    register(&mut c, PATIENT_1, "Rivers").await;
    let booked = c
        .send(book_call(booking(&searched[0], PATIENT_1, "urgent-care")))
        .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let (status, new_tag, body) = bulk_get(&c, &url("Slot"), Some(&slot_tag)).await;
    assert_eq!(status, 200);
    assert_ne!(new_tag, slot_tag);
    let now_busy: Vec<Value> = ndjson(&body)
        .into_iter()
        .filter(|s| s["id"] == searched[0].0["id"])
        .collect();
    assert_eq!(now_busy[0]["status"], "busy");
    let since = format!(
        "{}?_since=2026-12-01T08:00:30Z",
        url("Slot").split('?').next().unwrap()
    );
    let (status, _, body) = bulk_get(&c, &since, None).await;
    assert_eq!(status, 200);
    let changed = ndjson(&body);
    assert_eq!(changed.len(), 1, "{body}");
    assert_eq!(changed[0]["id"], searched[0].0["id"]);
    // A bad _since, another cluster or file, or no certificate are refused.
    let bad = format!(
        "{}?_since=yesterday",
        url("Slot").split('?').next().unwrap()
    );
    assert_eq!(bulk_get(&c, &bad, None).await.0, 422);
    assert_eq!(
        bulk_get(&c, &format!("{base}/bulk/U99999/Slot.ndjson"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        bulk_get(
            &c,
            &url("Slot").replace("Slot.ndjson", "Practitioner.ndjson"),
            None
        )
        .await
        .0,
        404
    );
    let stranger = Consumer::with(&g, None);
    assert_eq!(bulk_get(&stranger, &url("Slot"), None).await.0, 403);
    // A practice's system reads its own cluster's files and no other's.
    let cert = practice_consumer(&g).await;
    let practice = Consumer::with(&g, Some(&cert));
    assert_eq!(bulk_get(&practice, &url("Slot"), None).await.0, 200);
    assert_eq!(
        bulk_get(&practice, &format!("{base}/bulk/U99999/Slot.ndjson"), None)
            .await
            .0,
        404
    );
}

pub async fn adjacent_slots_book_as_one_appointment(g: Gpc) {
    // The practices' shares apportioned slot by slot leave no two adjacent: with them off, a
    // Saturday morning published after is open to both.
    g.app
        .send(
            Method::PUT,
            "/api/v1/clusters/U90001/sharing",
            Some(&g.manager),
            Some(json!({"triage": {"kind": "per_day", "slots": 2}, "apportionment": false})),
            &[("If-Match", "*")],
        )
        .await
        .ok(200);
    let first_id =
        |reply: helpers::Reply| reply.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    let site = first_id(g.app.get("/api/v1/clusters/U90001/sites", &g.manager).await);
    let service = first_id(
        g.app
            .get("/api/v1/clusters/U90001/services", &g.manager)
            .await,
    );
    let template = json!({"key": "sat", "site_id": site, "service_id": service, "start": "09:00", "end": "10:00",
        "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face", "weekdays": ["sat"], "valid_from": "2026-01-01"});
    let rota = g
        .app
        .post(
            "/api/v1/clusters/U90001/rotas",
            &g.manager,
            json!({"name": "Saturday", "templates": [template]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    g.app
        .post(
            &format!("/api/v1/clusters/U90001/rotas/{rota}/publish"),
            &g.manager,
            json!({"from": "2026-12-12", "to": "2026-12-12"}),
        )
        .await
        .ok(200);
    const SATURDAY: &str = "start=ge2026-12-12&end=le2026-12-12&status=free&_include=Slot:schedule\
        &searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1%7Cgp-practice";
    let cert = practice_consumer(&g).await;
    let mut c = Consumer::with(&g, Some(&cert));
    register(&mut c, PATIENT_1, "Rivers").await;
    let seen = slots_found(&mut c, SATURDAY).await;
    // Two slots of one schedule, the second starting when the first ends; and one a gap apart.
    let pair = seen
        .windows(2)
        .find(|w| w[0].0["end"] == w[1].0["start"] && w[0].0["schedule"] == w[1].0["schedule"])
        .unwrap_or_else(|| {
            panic!(
                "two adjacent slots: {:?}",
                seen.iter()
                    .take(12)
                    .map(|(s, _)| format!("{} {} {}", s["start"], s["end"], s["schedule"]))
                    .collect::<Vec<_>>()
            )
        })
        .to_vec();
    let gap = seen
        .iter()
        .find(|(s, _)| {
            s["schedule"] == pair[0].0["schedule"]
                && s["start"].as_str() > pair[1].0["end"].as_str()
        })
        .expect("a later slot of the same schedule")
        .clone();
    let two = |second: &(Value, String)| {
        let mut body = booking(&pair[0], PATIENT_1, "gp-practice");
        body["slot"] = json!([
            {"reference": format!("Slot/{}", pair[0].0["id"].as_str().unwrap())},
            {"reference": format!("Slot/{}", second.0["id"].as_str().unwrap())},
        ]);
        body["end"] = second.0["end"].clone();
        body
    };
    c.send(book_call(two(&gap)))
        .await
        .refused(422, "INVALID_RESOURCE");
    assert_eq!(slots_found(&mut c, SATURDAY).await.len(), seen.len());
    let booked = c.send(book_call(two(&pair[1]))).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let a = booked.body.clone();
    valid_appointment(&a);
    assert_eq!(a["slot"].as_array().unwrap().len(), 2);
    assert_eq!(a["start"], pair[0].0["start"]);
    assert_eq!(a["end"], pair[1].0["end"]);
    assert_eq!(slots_found(&mut c, SATURDAY).await.len(), seen.len() - 2);
    let id = a["id"].as_str().unwrap();
    let read = c.send(read_call(id)).await;
    assert_eq!(read.body, a);
    // The JSON API shows one appointment ending with the second slot.
    let native = g
        .app
        .get(&format!("/api/v1/appointments/{id}"), &g.receptionist)
        .await;
    assert_eq!(
        helpers::at(native.ok(200)["ends_at"].as_str().unwrap()),
        helpers::at(pair[1].0["end"].as_str().unwrap())
    );
    // Cancelled, both slots are free again.
    let mut cancelling = a.clone();
    cancelling["status"] = json!("cancelled");
    cancelling["extension"].as_array_mut().unwrap().push(json!({
        "url": format!("{PROFILE}Extension-GPConnect-AppointmentCancellationReason-1"),
        "valueString": "Patient is better"}));
    let cancelled = c.send(put_call(id, CANCEL, cancelling)).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(slots_found(&mut c, SATURDAY).await.len(), seen.len());
    c.all_parse_as_stu3();
}

/// The consumer's calls with this trace id in the audit trail, as the admin reads them.
async fn audited(g: &Gpc, trace_id: &str) -> Vec<Value> {
    g.app
        .get(
            &format!("/api/v1/audit?entity=integration_call&entity_id={trace_id}"),
            &g.app.admin,
        )
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

pub async fn every_change_and_every_refusal_is_audited_once(g: Gpc) {
    // A change writes its call in its own transaction, a refusal on its own: either way the
    // call is in the audit trail exactly once, under its interaction.
    let mut c = Consumer::new(&g);
    register(&mut c, PATIENT_2, "Brook").await;
    let slots = free_slots(&mut c, "urgent-care").await;
    let mut sent = Vec::new();
    let book = book_call(booking(&slots[0], PATIENT_2, "urgent-care"));
    sent.push((book.trace_id(), BOOK));
    let booked = c.send(book).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let id = booked.body["id"].as_str().unwrap().to_owned();
    // Refused in the booking's transaction: the slot is taken.
    let again = book_call(booking(&slots[0], PATIENT_2, "urgent-care"));
    sent.push((again.trace_id(), BOOK));
    c.send(again).await.refused(409, "DUPLICATE_REJECTED");
    // Refused before any change: a patient the integration does not know.
    let unknown = book_call(booking(&slots[1], "9990000034", "urgent-care"));
    sent.push((unknown.trace_id(), BOOK));
    c.send(unknown).await.refused(422, "REFERENCE_NOT_FOUND");
    // Refused by the checks against the appointment as it is: a stale version.
    let mut cancelling = booked.body.clone();
    cancelling["status"] = json!("cancelled");
    cancelling["extension"]
        .as_array_mut()
        .unwrap()
        .push(json!({"url": format!("{PROFILE}Extension-GPConnect-AppointmentCancellationReason-1"), "valueString": "no longer needed"}));
    let stale = put_call(&id, CANCEL, cancelling.clone()).set("If-Match", "W/\"7\"");
    sent.push((stale.trace_id(), CANCEL));
    c.send(stale)
        .await
        .refused(409, "FHIR_CONSTRAINT_VIOLATION");
    // Refused before the use case: a body that is not an appointment.
    let garbled = put_call(&id, CANCEL, json!({"resourceType": "Patient"}));
    sent.push((garbled.trace_id(), CANCEL));
    c.send(garbled).await.refused(422, "INVALID_RESOURCE");
    // The cancellation itself, at the version read.
    let cancel = put_call(&id, CANCEL, cancelling).set("If-Match", "W/\"1\"");
    sent.push((cancel.trace_id(), CANCEL));
    let cancelled = c.send(cancel).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["end"], booked.body["end"]);
    assert_eq!(cancelled.etag, "W/\"2\"");
    for (trace_id, interaction) in sent {
        let events = audited(&g, &trace_id).await;
        assert_eq!(events.len(), 1, "{interaction} {trace_id}: {events:?}");
        assert_eq!(events[0]["action"], interaction);
        assert_eq!(events[0]["actor"], format!("client:{}", g.integration));
    }
    // The slot is free again for every consumer.
    let free = free_slots(&mut c, "urgent-care").await;
    assert!(free.iter().any(|(s, _)| s["id"] == slots[0].0["id"]));
}
