//! The use cases' one error type: a refusal by a domain rule, an access rule, or the store.

use hubbook_core::access::Forbidden;
use hubbook_core::ValidationError;
use hubbook_store::StoreError;

/// Everything a use case can fail with; front ends map it to their own words (the JSON API to a
/// problem document) in one place each.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A value was refused by its validation rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Sharing rules that the allocation rules refuse (a percentage over 100, a lead time
    /// too long).
    #[error(transparent)]
    Sharing(#[from] hubbook_core::allocation::AllocationError),
    /// The caller's role may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Nothing the caller may see exists here; the text says what was looked for.
    #[error("{0}")]
    NotFound(String),
    /// A command that breaks a rule of its own shape (a manager's booking without the practice
    /// it is for); the text says what to send.
    #[error("{0}")]
    InvalidCommand(&'static str),
    /// A practice named by ODS code is not a member of the cluster.
    #[error("practice {0} is not a member of this cluster")]
    PracticeNotInCluster(String),
    /// A triage request refused by the triage rules (a passed timeframe, a bad code...).
    #[error(transparent)]
    Triage(#[from] hubbook_core::triage::TriageError),
    /// A ranking weighting out of bounds.
    #[error(transparent)]
    Ranking(#[from] hubbook_core::ranking::RankingError),
    /// No slot fits a triage request now; `next_slot` is the earliest later one that would.
    #[error("{detail}")]
    NoCapacity {
        /// What was looked for, in words.
        detail: String,
        /// The earliest fitting slot after the timeframe, if there is one soon.
        next_slot: Option<Box<crate::slots::Offer>>,
    },
    /// A disposition code that is unknown or retired; the text says which.
    #[error("{0}")]
    UnknownDisposition(String),
    /// A slot chosen for a triage booking that does not fit its disposition; the text says why.
    #[error("{0}")]
    SlotNotFitting(String),
    /// A booking whose slots are not as the caller saw them (their times, place or delivery
    /// channel); the text says what they are.
    #[error("{0}")]
    SlotNotAsSent(String),
    /// A patient's postcode that no site of the clusters is near; the text says which.
    #[error("{0}")]
    UnknownLocation(String),
    /// A location given both as a postcode and as coordinates, or with half its coordinates.
    #[error("give the patient's postcode, or latitude and longitude together, not both")]
    InvalidLocation,
    /// A search origin given both as a postcode and as coordinates.
    #[error("give a postcode, or latitude and longitude together, not both")]
    TwoOrigins,
    /// A postcode to rank from that is not a site of the searched clusters.
    #[error(
        "{0} is not the postcode of a site of this cluster; give latitude and longitude instead"
    )]
    UnknownPostcode(String),
    /// A page cursor this search did not hand out.
    #[error("the cursor is not one this search returned")]
    InvalidCursor,
    /// A webhook receiver that is not `https` (or `http` to a loopback host).
    #[error("a webhook URL is https://host/path (plain http only to localhost or 127.0.0.1)")]
    InvalidWebhookUrl,
    /// An event type the feed does not have.
    #[error("{0} is not an event type; the types are {types}", types = hubbook_store::repo::events::KINDS.join(", "))]
    UnknownEventType(String),
    /// A report name that is not one of the reports.
    #[error("no report {0:?}; the reports are {names}, and fair-share", names = crate::reports::ReportName::ALL.map(crate::reports::ReportName::as_str).join(", "))]
    UnknownReport(String),
    /// A grouping the report does not offer; names the ones it does.
    #[error("the {report} report is grouped by one of: {groups}", groups = groups.join(", "))]
    InvalidGroupBy {
        /// The report.
        report: &'static str,
        /// Its groupings.
        groups: Vec<&'static str>,
    },
    /// A late-cancellation window out of bounds (the largest allowed).
    #[error("late_cancel_hours is 0 to {0}")]
    InvalidLateCancelHours(u32),
    /// Wrong username, password, client id or secret, or a disabled user or client: one answer
    /// for all, so that it does not tell which names exist.
    #[error("the credentials are not valid")]
    InvalidCredentials,
    /// Too many wrong tries lately for this login name, client id or address
    /// (`hubbook_core::throttle`): no try is checked before `until`.
    #[error("too many wrong sign-in tries lately for this name or from this address; try again after {}", until.format("%Y-%m-%dT%H:%M:%SZ"))]
    Throttled {
        /// When the wait ends.
        until: chrono::DateTime<chrono::Utc>,
        /// Seconds from the refusal until then (at least one).
        seconds_left: i64,
    },
    /// The facts stored now do not allow the write (the slot is taken, the hold expired...).
    #[error(transparent)]
    Refused(#[from] hubbook_core::Refusal),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something unexpected; the detail stays in the log.
    #[error("{0}")]
    Internal(String),
    /// A site's latitude changed without its longitude, or the reverse.
    #[error("change latitude and longitude together")]
    HalfCoordinates,
    /// A role a cluster's staff user may not hold, or a practice given to a role without one.
    #[error("{0}")]
    InvalidRole(String),
    /// A username that is not 3 to 64 letters, digits, dots, hyphens or underscores.
    #[error("a username is 3 to 64 letters, digits, dots, hyphens or underscores")]
    InvalidUsername,
    /// A password shorter than [`crate::users::MIN_PASSWORD_LEN`].
    #[error(
        "a password needs at least {} characters",
        crate::users::MIN_PASSWORD_LEN
    )]
    WeakPassword,
    /// A client id that is not 3 to 64 letters, digits, dots, hyphens or underscores.
    #[error("a client id is 3 to 64 letters, digits, dots, hyphens or underscores")]
    InvalidClientId,
    /// A client certificate that is not one PEM `CERTIFICATE`.
    #[error("a client certificate is one PEM block, -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----")]
    InvalidCertificate,
    /// A cluster named for an integration that does not exist or that the caller may not manage.
    #[error("no cluster {0} that you may manage")]
    UnknownCluster(String),
    /// A rotation's changeover outside 0 to [`crate::integrations::MAX_CHANGEOVER_MINUTES`].
    #[error(
        "previous_valid_minutes is 0 to {}",
        crate::integrations::MAX_CHANGEOVER_MINUTES
    )]
    InvalidChangeover,
    /// A rota or template refused by the expansion rules (its template and date are named).
    #[error(transparent)]
    Rota(#[from] hubbook_core::rota::RotaError),
    /// A site, service or practice named that is not one of this cluster's; the text says which.
    #[error("{0}")]
    UnknownReference(String),
    /// A range of dates that ends before it starts or is longer than allowed; the text says which.
    #[error("{0}")]
    InvalidDateRange(String),
    /// A hand-set slot channel that is not open, 111 or a practice's with its ODS code.
    #[error("channel is open or 111 (without practice) or practice (with its ODS code)")]
    InvalidChannel,
}

impl ServiceError {
    /// Whether a write was refused because the record changed since the caller read it (its
    /// version moved on): front ends then show what is saved now instead of overwriting it.
    pub fn is_stale(&self) -> bool {
        matches!(
            self,
            Self::Store(hubbook_store::StoreError::Conflict(
                hubbook_store::ConflictKind::StaleVersion
            ))
        )
    }

    /// The refusal at `now` of a sign-in that waits until `until`.
    pub fn throttled(
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self::Throttled {
            until,
            // Rounded up: a stored instant may have lost its sub-microsecond part.
            seconds_left: ((until - now).num_milliseconds() + 999)
                .div_euclid(1000)
                .max(1),
        }
    }
}

impl From<hubbook_store::WriteError> for ServiceError {
    fn from(error: hubbook_store::WriteError) -> Self {
        match error {
            hubbook_store::WriteError::Refused(refusal) => Self::Refused(refusal),
            hubbook_store::WriteError::Store(e) => Self::Store(e),
        }
    }
}

/// Maps a store `NotFound` to a `NotFound` naming what was looked for.
pub(crate) fn found<T, E: Into<ServiceError>>(
    result: Result<T, E>,
    what: &'static str,
) -> Result<T, ServiceError> {
    match result.map_err(Into::into) {
        Err(ServiceError::Store(StoreError::NotFound)) => Err(ServiceError::NotFound(format!(
            "no {what} here that you may see"
        ))),
        other => other,
    }
}
