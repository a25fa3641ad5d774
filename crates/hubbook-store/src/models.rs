//! Rows as stored: one struct per table to read (`X`), one to insert (`NewX`), one to change (`XChanges`).
//!
//! Values are validated by `hubbook-core` before they reach these structs. Statuses, kinds,
//! channels, roles and deliveries are core enums, stored as their text names (read back through
//! `TryFrom<String>`, so an unknown name is an error, never a silent string).
//!
//! Every insertable row says `treat_none_as_default_value = false`. diesel's default writes
//! each column as "this value or DEFAULT", a statement it never keeps prepared on PostgreSQL,
//! so each insert of a booking was parsed and planned afresh. An absent value is NULL, as
//! no column these structs write has another default.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::ids::{AppointmentId, ClusterId, HoldId, PracticeId, SiteId, SlotId};
use crate::schema::*;

/// A cluster row: the tenant every other row belongs to.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = clusters, treat_none_as_default_value = false)]
pub struct Cluster {
    /// Internal id (UUIDv7).
    pub id: ClusterId,
    /// The cluster's code, e.g. `U00001`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// IANA time zone its rotas are written in, parsed once as the row is read.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub time_zone: hubbook_core::ClusterTimeZone,
    /// Optimistic-concurrency version, also the ETag.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Changes to a cluster; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = clusters)]
pub struct ClusterChanges {
    /// New display name.
    pub name: Option<String>,
    /// New time zone.
    pub time_zone: Option<String>,
}

/// A site row: a hub or surgery where sessions run.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = sites, treat_none_as_default_value = false)]
pub struct Site {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster (UUIDv7).
    pub id: SiteId,
    /// Display name, unique within the cluster.
    pub name: String,
    /// `hub` or `surgery`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: hubbook_core::SiteKind,
    /// Street address.
    pub address: String,
    /// Normalised UK postcode.
    pub postcode: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Changes to a site; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = sites)]
pub struct SiteChanges {
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<String>,
    /// New address.
    pub address: Option<String>,
    /// New postcode.
    pub postcode: Option<String>,
    /// New latitude.
    pub latitude: Option<f64>,
    /// New longitude.
    pub longitude: Option<f64>,
}

/// A practice row: a member GP surgery.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = practices, treat_none_as_default_value = false)]
pub struct Practice {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster (UUIDv7).
    pub id: PracticeId,
    /// ODS code, unique within the cluster.
    pub ods_code: String,
    /// Display name.
    pub name: String,
    /// Registered list size.
    pub list_size: i64,
    /// The practice's own site, if it runs one.
    pub site_id: Option<String>,
    /// First day of its data-sharing agreement.
    pub dsa_from: Option<NaiveDate>,
    /// Last day of its data-sharing agreement.
    pub dsa_to: Option<NaiveDate>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Changes to a practice; `None` leaves a field as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = practices)]
pub struct PracticeChanges {
    /// New name.
    pub name: Option<String>,
    /// New list size.
    pub list_size: Option<i64>,
    /// New own site.
    pub site_id: Option<Option<String>>,
    /// New agreement start.
    pub dsa_from: Option<Option<NaiveDate>>,
    /// New agreement end.
    pub dsa_to: Option<Option<NaiveDate>>,
}

/// A service row: what a slot offers, delivered by one clinical role.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = services, treat_none_as_default_value = false)]
pub struct Service {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster (UUIDv7).
    pub id: String,
    /// Short code, unique within the cluster.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Clinical role, e.g. `gp`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub clinical_role: hubbook_core::ClinicalRole,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Changes to a service; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = services)]
pub struct ServiceChanges {
    /// New name.
    pub name: Option<String>,
    /// New clinical role.
    pub clinical_role: Option<String>,
}

/// A staff user row with one role and scope; its password hash never serialises (audit, logs).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct User {
    /// Id (UUIDv7).
    pub id: String,
    /// Login name, lower case, unique in the installation.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// argon2id PHC string.
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// Role name.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub role: hubbook_core::Role,
    /// Cluster scope (none for admins).
    pub cluster_id: Option<ClusterId>,
    /// Practice scope (receptionists only).
    pub practice_id: Option<PracticeId>,
    /// Whether the user may sign in.
    pub active: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// Enable or disable sign-in.
    pub active: Option<bool>,
}

/// A triage integration client row (for example an NHS 111 provider); its secret hash never serialises.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = integrations, treat_none_as_default_value = false)]
pub struct Integration {
    /// Id (UUIDv7).
    pub id: String,
    /// The public client id used with `client_credentials`.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Whether the client may obtain tokens.
    pub active: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// The practice it books for (a practice's own system), or `None` for a triage service.
    pub practice_id: Option<String>,
}

/// Changes to an integration; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = integrations)]
pub struct IntegrationChanges {
    /// New display name.
    pub name: Option<String>,
    /// Enable or revoke the client.
    pub active: Option<bool>,
}

/// A stored response to a create request, replayed when the same `Idempotency-Key` comes again.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys, treat_none_as_default_value = false)]
pub struct IdempotencyRecord {
    /// Who sent the request (user or client id); keys are per caller.
    pub owner: String,
    /// The caller's key.
    pub key: String,
    /// Hash of method, path and body, to refuse the key's reuse for another request.
    pub request_hash: String,
    /// HTTP status of the stored response.
    pub status: i32,
    /// Body of the stored response.
    pub body: String,
    /// When first used (UTC).
    pub created_at: NaiveDateTime,
}

/// One audit event: who changed what, when, with the state before and after.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditEvent {
    /// Id (UUIDv7, so ordered by time).
    pub id: String,
    /// The cluster the entity belongs to; empty for installation-wide things (users,
    /// integrations, dispositions), since the cluster is the column the trail is distributed by.
    pub cluster_id: ClusterId,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// Who: `user:<id>`, `client:<id>` or `system`.
    pub actor: String,
    /// What was done, e.g. `practice.update`.
    pub action: String,
    /// The kind of entity, e.g. `practice`.
    pub entity: String,
    /// The entity's id.
    pub entity_id: String,
    /// JSON of the entity before the change.
    pub before_json: Option<String>,
    /// JSON of the entity after the change.
    pub after_json: Option<String>,
}

/// A rota row: a named draft of session templates, kept as JSON in the core's shape.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = rotas, treat_none_as_default_value = false)]
pub struct Rota {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The templates, as `hubbook_core::rota::SessionTemplate` JSON.
    pub templates_json: String,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A session row: one sitting of a template on one local date.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub struct Session {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster.
    pub id: String,
    /// The rota that published it.
    pub rota_id: String,
    /// The template it came from.
    pub template_key: String,
    /// Its local date.
    pub local_date: NaiveDate,
    /// Where it runs.
    pub site_id: SiteId,
    /// What it offers.
    pub service_id: String,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Slot length in minutes.
    pub slot_minutes: i32,
    /// Patients in parallel per slot interval.
    pub capacity: i32,
    /// `face_to_face`, `telephone` or `video`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub delivery: hubbook_core::rota::Delivery,
    /// Site, service and delivery together; a change means a different session.
    pub fingerprint: String,
    /// Whether a wall time fell in an autumn fold.
    pub ambiguous: bool,
    /// `active`, `cancelled` or `withdrawn`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: hubbook_core::rota::SessionStatus,
    /// Why it was cancelled or withdrawn.
    pub status_reason: Option<String>,
    /// The clinician running it, if named.
    pub clinician: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A slot row: one bookable interval of a session for one patient.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = slots, treat_none_as_default_value = false)]
pub struct Slot {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster.
    pub id: SlotId,
    /// Its session.
    pub session_id: String,
    /// Its session's site (copied for search).
    pub site_id: SiteId,
    /// Its session's service (copied for search).
    pub service_id: String,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Parallel place, from 0.
    pub lane: i32,
    /// Delivery channel (copied for search).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub delivery: hubbook_core::rota::Delivery,
    /// Who may book it: `open`, `practice` or `111`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub channel: hubbook_core::allocation::ChannelKind,
    /// The practice it is reserved for, when the channel is `practice`.
    pub channel_practice_id: Option<PracticeId>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When a rota change removed it; removed slots are never offered.
    pub removed_at: Option<NaiveDateTime>,
    /// When its reservation opens to every practice; `None` for an open slot.
    pub released_at: Option<NaiveDateTime>,
    /// The version of the sharing rules that gave it its channel (0: the defaults).
    pub sharing_version: i64,
    /// When a rota change stopped wanting it while a patient (or holder) kept it; never offered since.
    pub orphaned_at: Option<NaiveDateTime>,
    /// When the event feed announced its release (the periodic task sets it once).
    pub release_announced_at: Option<NaiveDateTime>,
}

/// A hold row: one slot reserved for one caller until it expires.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = holds, treat_none_as_default_value = false)]
pub struct Hold {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// The held slot.
    pub slot_id: SlotId,
    /// The hold's id.
    pub id: HoldId,
    /// Who holds it (`user:<id>` or `client:<id>`).
    pub holder: String,
    /// When taken (UTC).
    pub created_at: NaiveDateTime,
    /// When it stops excluding others (UTC).
    pub expires_at: NaiveDateTime,
}

/// An appointment row: one patient booked into one slot, with what was true at booking time.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = appointments, treat_none_as_default_value = false)]
pub struct Appointment {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster.
    pub id: AppointmentId,
    /// The booked slot.
    pub slot_id: SlotId,
    /// The slot's session.
    pub session_id: String,
    /// `booked`, `cancelled`, `arrived`, `seen` or `did_not_attend`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: hubbook_core::appointment::AppointmentStatus,
    /// The patient's NHS number (absent for some temporary residents).
    pub nhs_number: Option<String>,
    /// The patient's name.
    pub patient_name: String,
    /// The patient's date of birth.
    pub patient_birth_date: NaiveDate,
    /// A phone number for the patient.
    pub patient_phone: String,
    /// An email address for the patient.
    pub patient_email: Option<String>,
    /// Reasonable adjustments to make.
    pub adjustments: Option<String>,
    /// The patient's registered practice.
    pub registered_practice_id: Option<PracticeId>,
    /// The practice that booked.
    pub booking_practice_id: Option<PracticeId>,
    /// Who booked (`user:<id>` or `client:<id>`).
    pub booked_by: String,
    /// How it was booked: `practice`, `open` or `111`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub channel: hubbook_core::allocation::ChannelKind,
    /// Reason for the appointment.
    pub reason: Option<String>,
    /// Requesting organisation's ODS code (e.g. a hospital asking for bloods).
    pub requester_ods: Option<String>,
    /// The requester's reference.
    pub requester_reference: Option<String>,
    /// Start at booking time (UTC).
    pub starts_at: NaiveDateTime,
    /// End at booking time (UTC).
    pub ends_at: NaiveDateTime,
    /// Site at booking time.
    pub site_id: SiteId,
    /// Service at booking time.
    pub service_id: String,
    /// Clinical role at booking time.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub clinical_role: hubbook_core::ClinicalRole,
    /// Delivery channel at booking time.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub delivery: hubbook_core::rota::Delivery,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// When it was cancelled (UTC).
    pub cancelled_at: Option<NaiveDateTime>,
    /// When its outcome (arrived, seen, did not attend) was recorded (UTC).
    pub outcome_at: Option<NaiveDateTime>,
    /// Notes for the clinician, amendable without touching the booking.
    pub notes: Option<String>,
    /// For a further slot of an appointment of several adjacent slots: the appointment (its
    /// first slot's row). Such a row is never listed on its own.
    pub part_of: Option<AppointmentId>,
}

/// A rebooking need: an appointment whose slot a rota change would have removed.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = rebookings, treat_none_as_default_value = false)]
pub struct Rebooking {
    /// Owning cluster.
    pub cluster_id: ClusterId,
    /// Id within the cluster.
    pub id: String,
    /// The appointment to rebook or confirm.
    pub appointment_id: AppointmentId,
    /// Why.
    pub reason: String,
    /// When flagged (UTC).
    pub flagged_at: NaiveDateTime,
    /// Who made the change that flagged it.
    pub flagged_by: String,
    /// `kept`, `cancelled` or `rebooked` once resolved.
    pub resolution: Option<String>,
    /// When resolved (UTC).
    pub resolved_at: Option<NaiveDateTime>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// What they wrote about it (why kept, why cancelled), if anything.
    pub resolution_note: Option<String>,
}

/// A triage outcome code 111 books by: how soon the patient must be seen, and what fits.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = dispositions, treat_none_as_default_value = false)]
pub struct Disposition {
    /// The code, e.g. `Dx05`.
    pub code: String,
    /// What it asks for, in words.
    pub description: String,
    /// Minutes from triage within which the patient must be seen or called.
    pub timeframe_minutes: i32,
    /// `face_to_face`, `telephone` or `either`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub delivery: hubbook_core::triage::DeliveryFit,
    /// Whether 111 may book with it; a retired code stays for the bookings that name it.
    pub active: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Changes to a disposition; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = dispositions)]
pub struct DispositionChanges {
    /// New description.
    pub description: Option<String>,
    /// New timeframe in minutes.
    pub timeframe_minutes: Option<i32>,
    /// New delivery fit.
    pub delivery: Option<String>,
    /// Retire or restore it.
    pub active: Option<bool>,
}

/// One secret of an integration; live while neither revoked nor expired.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = integration_secrets, treat_none_as_default_value = false)]
pub struct IntegrationSecret {
    /// Id; tokens name the secret they were issued against.
    pub id: String,
    /// The integration.
    pub integration_id: String,
    /// argon2id PHC string of the secret.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When it stops working by itself (a rotation's old secret), if ever.
    pub expires_at: Option<NaiveDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

impl IntegrationSecret {
    /// Whether the secret may be used at `now`.
    pub fn live_at(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}

/// A TLS client certificate an integration connects with, by the SHA-256 of its DER; live until
/// revoked.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = integration_certificates, treat_none_as_default_value = false)]
pub struct IntegrationCertificate {
    /// The SHA-256 of the certificate's DER, as 64 lower-case hex digits.
    pub sha256: String,
    /// The integration it authenticates.
    pub integration_id: String,
    /// When registered (UTC).
    pub created_at: NaiveDateTime,
    /// When revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

/// A patient a GP Connect consumer registered with hubbook (a temporary resident, say), its own
/// record: what a booking of the patient by that consumer needs.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = consumer_patients, treat_none_as_default_value = false)]
pub struct ConsumerPatient {
    /// The integration that registered the patient.
    pub integration_id: String,
    /// The patient's NHS number (checked).
    pub nhs_number: String,
    /// Full name.
    pub name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// A phone number to reach the patient.
    pub phone: String,
    /// An email address.
    pub email: Option<String>,
    /// How the patient is registered: `T` temporary, `E` emergency, `IN` immediately necessary.
    pub registration: String,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When first registered (UTC).
    pub created_at: NaiveDateTime,
    /// When last registered again (UTC).
    pub updated_at: NaiveDateTime,
}

/// How the organisation that asked for an appointment described itself (a GP Connect booking
/// organisation's name, phone and type), kept beside the appointment and returned on every read.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = requester_contacts, treat_none_as_default_value = false)]
pub struct RequesterContact {
    /// The appointment's cluster (set when stored).
    pub cluster_id: ClusterId,
    /// The appointment (set when stored).
    pub appointment_id: AppointmentId,
    /// The organisation's name.
    pub name: String,
    /// Its phone number.
    pub phone: String,
    /// Its organisation type, as GP Connect codes it (e.g. `urgent-care`), when it gave one.
    pub organisation_type: Option<String>,
}

/// What a 111 booking was triaged for.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = triage_bookings, treat_none_as_default_value = false)]
pub struct TriageBooking {
    /// The cluster.
    pub cluster_id: ClusterId,
    /// The appointment booked.
    pub appointment_id: AppointmentId,
    /// The disposition code.
    pub disposition_code: String,
    /// When the patient was triaged (UTC).
    pub triaged_at: NaiveDateTime,
    /// When the disposition's timeframe ends (UTC).
    pub due_by: NaiveDateTime,
    /// The triage service's own case reference.
    pub case_reference: Option<String>,
}

/// One event of a cluster's feed: what changed, numbered in commit order within the cluster.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct Event {
    /// The cluster.
    pub cluster_id: ClusterId,
    /// Position in the cluster's feed: 1, 2, 3... in commit order.
    pub seq: i64,
    /// A unique id (UUIDv7), for consumers to drop duplicates by.
    pub id: String,
    /// One of `hubbook_store::repo::events::KINDS`, e.g. `appointment.booked`.
    pub kind: String,
    /// When the change was made (UTC).
    pub occurred_at: NaiveDateTime,
    /// The appointment concerned, if any.
    pub appointment_id: Option<String>,
    /// The slot concerned, if any.
    pub slot_id: Option<String>,
    /// Who booked the appointment concerned (`user:<id>` or `client:<id>`), to scope a client's feed.
    pub booked_by: Option<String>,
    /// The event's details as JSON (never patient identifiers).
    pub data: String,
}

/// A webhook: where a cluster's events are posted, signed with its secret.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = webhooks, treat_none_as_default_value = false)]
pub struct Webhook {
    /// Id (UUIDv7).
    pub id: String,
    /// The cluster whose events it receives.
    pub cluster_id: ClusterId,
    /// Where deliveries are posted.
    pub url: String,
    /// The HMAC-SHA256 signing secret; never serialised.
    #[serde(skip_serializing)]
    pub secret: String,
    /// The event kinds delivered, space-separated; `*` for all.
    pub event_types: String,
    /// Whether deliveries are made.
    pub active: bool,
    /// The feed position delivered up to.
    pub delivered_seq: i64,
    /// Failed attempts in a row at the next event.
    pub failures: i32,
    /// When the next attempt may be made, after a failure.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Changes to a webhook; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    /// New URL.
    pub url: Option<String>,
    /// New event kinds.
    pub event_types: Option<String>,
    /// Pause or resume deliveries.
    pub active: Option<bool>,
}

/// One attempt to deliver one event to one webhook.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
pub struct WebhookDelivery {
    /// Id (UUIDv7, so in time order).
    pub id: String,
    /// The webhook's cluster.
    pub cluster_id: ClusterId,
    /// The webhook.
    pub webhook_id: String,
    /// The event's feed position.
    pub event_seq: i64,
    /// The event's id.
    pub event_id: String,
    /// 1 for the first attempt at this event, then 2, 3...
    pub attempt: i32,
    /// When it was made (UTC).
    pub attempted_at: NaiveDateTime,
    /// Whether the receiver answered 2xx.
    pub succeeded: bool,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}
