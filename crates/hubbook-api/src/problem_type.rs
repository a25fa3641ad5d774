//! Every kind of problem the API answers with, as data: its stable `type`, its HTTP status and
//! what it means. The one status table of the API; the OpenAPI error responses and the
//! `ProblemType` schema are generated from it.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use utoipa::openapi::{ObjectBuilder, RefOr, Response, Schema, Type};

macro_rules! problem_types {
    ($($variant:ident = $code:literal, $status:ident, $meaning:literal;)*) => {
        /// A kind of problem: the `type` of an RFC 9457 problem document, stable for clients to
        /// match on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ProblemType {
            $(
                #[doc = $meaning]
                $variant,
            )*
        }

        impl ProblemType {
            /// Every kind, in the order of the catalogue.
            pub const ALL: &'static [ProblemType] = &[$(Self::$variant),*];

            /// The `type` as sent: kebab-case, e.g. `slot-unavailable`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }

            /// The HTTP status every problem of this kind is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => StatusCode::$status,)*
                }
            }

            /// What the kind means and what to do about it, for the documentation.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Self::$variant => $meaning,)*
                }
            }
        }
    };
}

problem_types! {
    // Requests that cannot be read.
    MalformedJson = "malformed-json", BAD_REQUEST, "The body is not valid JSON.";
    InvalidQuery = "invalid-query", BAD_REQUEST, "The query string does not parse, or names a parameter twice or wrongly.";
    InvalidText = "invalid-text", BAD_REQUEST, "The path or query string holds a control character (such as `%00`), which no id, code or filter has.";
    InvalidCursor = "invalid-cursor", BAD_REQUEST, "The page cursor is not one this list handed out.";
    IdempotencyKeyRequired = "idempotency-key-required", BAD_REQUEST, "This create needs an `Idempotency-Key` header (e.g. a UUID) so that a retry books once.";
    InvalidIdempotencyKey = "invalid-idempotency-key", BAD_REQUEST, "The `Idempotency-Key` is empty, too long or not printable ASCII.";
    PayloadTooLarge = "payload-too-large", PAYLOAD_TOO_LARGE, "The body is larger than the route accepts.";
    UnsupportedMediaType = "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "The body's content type is not one this route reads.";
    MethodNotAllowed = "method-not-allowed", METHOD_NOT_ALLOWED, "The path has no operation for this method: the `Allow` header lists those it has.";
    // Who is asking.
    InvalidToken = "invalid-token", UNAUTHORIZED, "No valid bearer token: missing, expired, or issued against a secret or client since revoked. Request a new one.";
    InvalidCredentials = "invalid-credentials", UNAUTHORIZED, "Wrong username, password, client id or secret.";
    SignInThrottled = "sign-in-throttled", TOO_MANY_REQUESTS, "Too many wrong sign-in tries lately for this username or client id, or from this address: wait `Retry-After` seconds (tries before then are refused unchecked). The wait doubles with each further wrong try, up to five minutes; a cluster manager setting a new password ends a username's wait.";
    Forbidden = "forbidden", FORBIDDEN, "The caller's role may not do this in its scope.";
    NotFound = "not-found", NOT_FOUND, "Nothing the caller may see exists here (outside its scope the answer is the same).";
    UnknownReport = "unknown-report", NOT_FOUND, "No report of that name.";
    // Concurrency.
    PreconditionRequired = "precondition-required", PRECONDITION_REQUIRED, "This update needs `If-Match` with the ETag last read (or `*`).";
    PreconditionFailed = "precondition-failed", PRECONDITION_FAILED, "The resource changed since it was read: read it again and retry with its ETag.";
    AlreadyExists = "already-exists", CONFLICT, "A record with the same unique value (code, username, client id...) exists.";
    IdempotencyKeyReused = "idempotency-key-reused", UNPROCESSABLE_ENTITY, "The `Idempotency-Key` was used before for a different request.";
    ServiceBusy = "service-busy", SERVICE_UNAVAILABLE, "The database is busy for a moment: retry after `Retry-After` seconds with the same `Idempotency-Key`.";
    InternalError = "internal-error", INTERNAL_SERVER_ERROR, "Something unexpected failed; it was logged under the problem's `instance`.";
    // Booking.
    SlotUnavailable = "slot-unavailable", CONFLICT, "The slot has just been booked, or someone else holds it: search again.";
    SlotsNotAdjacent = "slots-not-adjacent", UNPROCESSABLE_ENTITY, "Slots booked as one appointment must be adjacent: each starts when the one before ends, in one session, of one service and delivery.";
    SlotNotOffered = "slot-not-offered", CONFLICT, "The slot is not offered to the caller now (reserved for another practice or for 111, or no data-sharing agreement).";
    SlotInPast = "slot-in-past", UNPROCESSABLE_ENTITY, "The slot has already started.";
    HoldExpired = "hold-expired", CONFLICT, "The hold named is not the caller's or has expired: hold again, or book without a hold.";
    DuplicateBooking = "duplicate-booking", CONFLICT, "The patient already has a live appointment for this service that day.";
    InvalidTransition = "invalid-transition", CONFLICT, "The appointment's status does not allow this change (the detail says why).";
    PracticeNotInCluster = "practice-not-in-cluster", UNPROCESSABLE_ENTITY, "The practice named is not a member of the cluster.";
    NoCapacity = "no-capacity", CONFLICT, "No slot fits the disposition within its timeframe now; `next_slot` is the earliest later one.";
    SlotNotFitting = "slot-not-fitting", UNPROCESSABLE_ENTITY, "The slot chosen for a triage booking does not fit its disposition (the detail says why).";
    UnknownDisposition = "unknown-disposition", UNPROCESSABLE_ENTITY, "The disposition code is unknown or retired.";
    TimeframePassed = "timeframe-passed", UNPROCESSABLE_ENTITY, "The disposition's timeframe has already passed.";
    TriageTimeInFuture = "triage-time-in-future", UNPROCESSABLE_ENTITY, "The triage time is more than five minutes ahead.";
    UnknownLocation = "unknown-location", UNPROCESSABLE_ENTITY, "The patient's postcode is not near a site hubbook knows: send coordinates.";
    InvalidLocation = "invalid-location", UNPROCESSABLE_ENTITY, "Give the patient's postcode, or latitude and longitude together, not both.";
    UnknownPostcode = "unknown-postcode", UNPROCESSABLE_ENTITY, "The postcode to rank from is not a site of the cluster: give coordinates.";
    InvalidWeighting = "invalid-weighting", UNPROCESSABLE_ENTITY, "Minutes per kilometre must be 0 to 1,440.";
    UnknownDeliveryFit = "unknown-delivery-fit", UNPROCESSABLE_ENTITY, "A disposition's delivery is face_to_face, telephone or either.";
    InvalidTimeframe = "invalid-timeframe", UNPROCESSABLE_ENTITY, "A disposition's timeframe is out of bounds.";
    InvalidDispositionCode = "invalid-disposition-code", UNPROCESSABLE_ENTITY, "A disposition code is short letters and digits, such as Dx05.";
    // Values.
    InvalidBody = "invalid-body", UNPROCESSABLE_ENTITY, "The body is JSON of the wrong shape (wrong types, missing or unknown fields), or breaks a rule of its own shape.";
    InvalidValue = "invalid-value", UNPROCESSABLE_ENTITY, "A value breaks a rule of the stored data.";
    UnknownReference = "unknown-reference", UNPROCESSABLE_ENTITY, "A referenced record does not exist in this cluster.";
    UnknownCluster = "unknown-cluster", UNPROCESSABLE_ENTITY, "A cluster named in the body does not exist or is not the caller's.";
    InvalidNhsNumber = "invalid-nhs-number", UNPROCESSABLE_ENTITY, "An NHS number is ten digits whose last is a modulus-11 check digit.";
    InvalidOdsCode = "invalid-ods-code", UNPROCESSABLE_ENTITY, "A practice ODS code is one letter and five digits, such as A81001.";
    InvalidClusterCode = "invalid-cluster-code", UNPROCESSABLE_ENTITY, "A cluster code is 3 to 16 capital letters and digits starting with a letter.";
    InvalidTimeZone = "invalid-time-zone", UNPROCESSABLE_ENTITY, "Not an IANA time zone name such as Europe/London.";
    InvalidPostcode = "invalid-postcode", UNPROCESSABLE_ENTITY, "Not a well-formed UK postcode.";
    InvalidCoordinates = "invalid-coordinates", UNPROCESSABLE_ENTITY, "Coordinates outside the British Isles, or not numbers.";
    InvalidListSize = "invalid-list-size", UNPROCESSABLE_ENTITY, "A registered list size must be above zero.";
    InvalidServiceCode = "invalid-service-code", UNPROCESSABLE_ENTITY, "A service code is 1 to 32 lower-case letters, digits or hyphens.";
    UnknownClinicalRole = "unknown-clinical-role", UNPROCESSABLE_ENTITY, "Not a clinical role hubbook knows.";
    UnknownRole = "unknown-role", UNPROCESSABLE_ENTITY, "Not a role hubbook knows.";
    InvalidRole = "invalid-role", UNPROCESSABLE_ENTITY, "The role and its scope do not go together (a receptionist needs a practice...).";
    UnknownSiteKind = "unknown-site-kind", UNPROCESSABLE_ENTITY, "A site is a hub or a surgery.";
    InvalidDateRange = "invalid-date-range", UNPROCESSABLE_ENTITY, "A date range ends before it starts, is too long, or falls outside the years 2000 to 2100.";
    InvalidName = "invalid-name", UNPROCESSABLE_ENTITY, "A name or text is empty, too long or holds control characters.";
    InvalidBirthDate = "invalid-birth-date", UNPROCESSABLE_ENTITY, "The date of birth is in the future or over 130 years ago.";
    InvalidPhone = "invalid-phone", UNPROCESSABLE_ENTITY, "A phone number is 7 to 15 digits, with spaces, +, ( ) or - between them.";
    InvalidEmail = "invalid-email", UNPROCESSABLE_ENTITY, "An email address has one @ and no spaces.";
    InvalidRequester = "invalid-requester", UNPROCESSABLE_ENTITY, "A requesting organisation's code is 3 to 10 letters and digits.";
    InvalidUsername = "invalid-username", UNPROCESSABLE_ENTITY, "A username is 3 to 64 letters, digits, dots, hyphens or underscores.";
    WeakPassword = "weak-password", UNPROCESSABLE_ENTITY, "The password is too short.";
    InvalidClientId = "invalid-client-id", UNPROCESSABLE_ENTITY, "A client id is 3 to 64 letters, digits, dots, hyphens or underscores.";
    InvalidCertificate = "invalid-certificate", UNPROCESSABLE_ENTITY, "A client certificate is one PEM CERTIFICATE block.";
    SecretLimit = "secret-limit", CONFLICT, "Two secrets are live already: revoke one before rotating again.";
    InvalidWebhookUrl = "invalid-webhook-url", UNPROCESSABLE_ENTITY, "A webhook URL is https (plain http only to a loopback host).";
    UnknownEventType = "unknown-event-type", UNPROCESSABLE_ENTITY, "Not an event type of the feed.";
    InvalidGroupBy = "invalid-group-by", UNPROCESSABLE_ENTITY, "The report is not grouped that way (the detail names the groupings it offers).";
    InvalidLateCancelHours = "invalid-late-cancel-hours", UNPROCESSABLE_ENTITY, "The late-cancellation window is 0 to 168 hours.";
    // Sharing and rotas.
    InvalidTriagePercentage = "invalid-triage-percentage", UNPROCESSABLE_ENTITY, "The share reserved for 111 is out of bounds.";
    InvalidLeadTime = "invalid-lead-time", UNPROCESSABLE_ENTITY, "A release lead time is 0 to 672 hours.";
    InvalidChannel = "invalid-channel", UNPROCESSABLE_ENTITY, "A slot's channel is open, practice (with a practice) or 111.";
    DuplicatePractice = "duplicate-practice", UNPROCESSABLE_ENTITY, "The same practice is named twice.";
    InvalidRotaName = "invalid-rota-name", UNPROCESSABLE_ENTITY, "A rota's name is empty or too long.";
    InvalidTemplateKey = "invalid-template-key", UNPROCESSABLE_ENTITY, "A session template's key is a short slug.";
    DuplicateTemplateKey = "duplicate-template-key", UNPROCESSABLE_ENTITY, "Two session templates of the rota have the same key.";
    InvalidTemplateReference = "invalid-template-reference", UNPROCESSABLE_ENTITY, "A session template names a site or service the cluster does not have.";
    InvalidSessionTimes = "invalid-session-times", UNPROCESSABLE_ENTITY, "A session ends before it starts, or is too long.";
    TimeNotWholeMinute = "time-not-whole-minute", UNPROCESSABLE_ENTITY, "Session times are whole minutes.";
    InvalidSlotLength = "invalid-slot-length", UNPROCESSABLE_ENTITY, "A slot length is out of bounds or longer than its session.";
    InvalidCapacity = "invalid-capacity", UNPROCESSABLE_ENTITY, "A session's capacity (parallel lanes) is out of bounds.";
    InvalidBreak = "invalid-break", UNPROCESSABLE_ENTITY, "A break lies outside its session or overlaps another.";
    NoWeekdays = "no-weekdays", UNPROCESSABLE_ENTITY, "A session template runs on no weekday.";
    InvalidWeekPattern = "invalid-week-pattern", UNPROCESSABLE_ENTITY, "A week pattern is every week, every n weeks from a date, or a week of the month.";
    InvalidValidityRange = "invalid-validity-range", UNPROCESSABLE_ENTITY, "A template's validity ends before it starts.";
    NonexistentLocalTime = "nonexistent-local-time", UNPROCESSABLE_ENTITY, "A session starts or ends at a wall time that does not exist that day (the clocks went forward).";
    UnknownDelivery = "unknown-delivery", UNPROCESSABLE_ENTITY, "A delivery is face_to_face, telephone or video.";
    InvalidChangeover = "invalid-changeover", UNPROCESSABLE_ENTITY, "How long a rotated-out secret keeps working is out of bounds.";
}

impl ProblemType {
    /// The kind with this `type`, if there is one.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == code)
    }

    /// The kind a core rule names by its code (`ValidationError::code` and the like); a code
    /// missing from the catalogue is logged and answered as `invalid-value` (a test walks the
    /// core's codes so that none is).
    pub fn coded(code: &str) -> Self {
        Self::from_code(code).unwrap_or_else(|| {
            tracing::error!(code, "a problem type missing from the catalogue");
            Self::InvalidValue
        })
    }

    /// A title for the kind: its words, the first capitalised, acronyms in capitals.
    pub fn title(self) -> String {
        let words: Vec<String> = self
            .as_str()
            .split('-')
            .enumerate()
            .map(|(i, word)| match word {
                "nhs" | "ods" | "json" | "id" => word.to_uppercase(),
                _ if i == 0 => {
                    let mut chars = word.chars();
                    chars
                        .next()
                        .map(|c| c.to_uppercase().chain(chars).collect())
                        .unwrap_or_default()
                }
                _ => word.to_owned(),
            })
            .collect();
        words.join(" ")
    }

    /// Whether any request may meet it, whatever the operation (a body that does not parse, a
    /// token that expired, a busy database): documented once for the whole API.
    pub fn is_general(self) -> bool {
        matches!(
            self,
            Self::MalformedJson
                | Self::MethodNotAllowed
                | Self::InvalidQuery
                | Self::InvalidText
                | Self::PayloadTooLarge
                | Self::UnsupportedMediaType
                | Self::InvalidToken
                | Self::InvalidBody
                | Self::InvalidValue
                | Self::ServiceBusy
                | Self::InternalError
        )
    }
}

/// The OpenAPI responses of the problems an operation may answer with, one per status, each
/// naming its kinds and what they mean: how every route's error responses are documented.
pub fn responses_of(kinds: &[ProblemType]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<ProblemType>> = BTreeMap::new();
    for kind in kinds {
        by_status
            .entry(kind.status().as_u16())
            .or_default()
            .push(*kind);
    }
    by_status
        .into_iter()
        .map(|(status, kinds)| {
            let response = crate::document::problem_response(&kinds, None);
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// The `ProblemType` schema: every `type` the API sends, with its status and meaning.
pub fn schema() -> Schema {
    let table: Vec<String> = ProblemType::ALL
        .iter()
        .map(|k| {
            format!(
                "| `{}` | {} | {} |",
                k.as_str(),
                k.status().as_u16(),
                k.meaning()
            )
        })
        .collect();
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ProblemType::ALL.iter().map(|k| k.as_str())))
            .description(Some(format!(
                "The kind of problem: stable, match on it.\n\n| type | status | meaning |\n|---|---|---|\n{}",
                table.join("\n")
            )))
            .build(),
    )
}

/// Declares a set of problems an operation may answer with, as a type whose OpenAPI responses
/// are generated from the catalogue: `problems!(BookProblems: SlotUnavailable, HoldExpired);`
/// then `responses((status = 201, body = X), BookProblems)` in the operation's `utoipa::path`.
#[macro_export]
macro_rules! problems {
    ($name:ident: $($kind:ident),* $(,)?) => {
        #[doc = concat!("The problems an operation may answer with: ", $(concat!("`", stringify!($kind), "` ")),*)]
        pub struct $name;

        impl $name {
            /// The kinds, for tests and documentation.
            pub const KINDS: &'static [$crate::problem_type::ProblemType] =
                &[$($crate::problem_type::ProblemType::$kind),*];
        }

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                $crate::problem_type::responses_of(Self::KINDS)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_unique_kebab_case_with_titles() {
        let mut seen = std::collections::HashSet::new();
        for kind in ProblemType::ALL {
            let code = kind.as_str();
            assert!(seen.insert(code), "{code} twice");
            assert!(code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert_eq!(ProblemType::from_code(code), Some(*kind));
            assert!(!kind.meaning().is_empty());
        }
        assert_eq!(ProblemType::InvalidNhsNumber.title(), "Invalid NHS number");
        assert_eq!(ProblemType::NotFound.title(), "Not found");
        assert_eq!(ProblemType::InvalidOdsCode.title(), "Invalid ODS code");
        assert_eq!(ProblemType::MalformedJson.title(), "Malformed JSON");
    }

    /// Every code a core rule can refuse with (its `code()`) is a kind of the catalogue, so no
    /// refusal reaches a client as an undocumented type.
    #[test]
    fn every_core_refusal_code_is_catalogued() {
        let sources = [
            (
                include_str!("../../hubbook-core/src/error.rs"),
                "impl ValidationError",
            ),
            (
                include_str!("../../hubbook-core/src/rota.rs"),
                "impl RotaError",
            ),
            (
                include_str!("../../hubbook-core/src/triage.rs"),
                "impl TriageError",
            ),
            (
                include_str!("../../hubbook-core/src/ranking.rs"),
                "impl RankingError",
            ),
            (
                include_str!("../../hubbook-core/src/allocation.rs"),
                "impl AllocationError",
            ),
            (
                include_str!("../../hubbook-core/src/refusal.rs"),
                "impl Refusal",
            ),
        ];
        let mut codes = Vec::new();
        for (source, error) in sources {
            let at = source.find(error).expect("the error's impl");
            let body = &source[at..];
            let start = body.find("pub fn code(&self)").expect("its code()");
            let body = &body[start..];
            let end = body.find("\n    }\n").unwrap_or(body.len());
            codes.extend(body[..end].split('"').skip(1).step_by(2).map(str::to_owned));
        }
        assert!(codes.len() > 40, "found only {codes:?}");
        for code in codes {
            assert!(
                ProblemType::from_code(&code).is_some(),
                "{code} is not a ProblemType"
            );
        }
    }
}
