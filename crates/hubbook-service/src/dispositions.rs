//! Dispositions: the triage outcome codes a 111 service books by, each with its timeframe, the
//! delivery that fits and the services that fit. Triage services, cluster managers and admins
//! read them; admins add, change and retire them.

use hubbook_core::access::Forbidden;
use hubbook_core::triage::{check_code, check_timeframe, DeliveryFit};
use hubbook_core::{validate_name, validate_optional_name, Role, ServiceCode};
use hubbook_store::models::{Disposition, DispositionChanges};
use hubbook_store::repo::dispositions;
use hubbook_store::repo::idempotency::Claim;
use hubbook_store::Page;

pub use hubbook_store::repo::dispositions::DispositionEntry;

use crate::error::found;
use crate::idempotency::create_once;
use crate::{Caller, Hubbook, ServiceError};

/// A disposition to add, as sent: checked once the caller is known to be an admin.
#[derive(Debug, Clone)]
pub struct CreateDisposition {
    /// The code, 2 to 16 letters, digits, dots, hyphens or underscores.
    pub code: String,
    /// What it asks for, in words.
    pub description: String,
    /// Minutes from triage.
    pub timeframe_minutes: i64,
    /// `face_to_face`, `telephone` or `either`.
    pub delivery: String,
    /// The service codes or clinical roles that fit.
    pub services: Vec<String>,
}

/// Changes to a disposition, as sent (checked once the caller is known to be an admin); absent
/// fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateDisposition {
    /// New description.
    pub description: Option<String>,
    /// New timeframe in minutes.
    pub timeframe_minutes: Option<i64>,
    /// New delivery fit.
    pub delivery: Option<String>,
    /// The services that fit, replacing the current ones.
    pub services: Option<Vec<String>>,
    /// `false` retires the code.
    pub active: Option<bool>,
}

/// Who may read dispositions: triage services, cluster managers and admins.
fn may_read(who: &Caller) -> Result<(), ServiceError> {
    match who.role {
        Role::Triage | Role::ClusterManager | Role::Admin => Ok(()),
        _ => Err(Forbidden(
            "dispositions are read by triage services, cluster managers and admins",
        )
        .into()),
    }
}

/// Who may change dispositions: an admin.
fn may_change(who: &Caller) -> Result<(), ServiceError> {
    crate::access::require_admin(who)
}

/// The services that fit, checked, each once, in order; at least one.
fn services(codes: &[String]) -> Result<Vec<String>, ServiceError> {
    let mut out: Vec<String> = Vec::with_capacity(codes.len());
    for code in codes {
        let code = ServiceCode::parse(code)?.as_str().to_owned();
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err(ServiceError::InvalidCommand(
            "a disposition needs at least one service code",
        ));
    }
    out.sort();
    Ok(out)
}

/// A timeframe in minutes, checked by the triage rules.
fn timeframe(minutes: i64) -> Result<i32, ServiceError> {
    let minutes = check_timeframe(minutes)?;
    i32::try_from(minutes).map_err(|_| ServiceError::Internal("timeframe out of range".into()))
}

impl Hubbook {
    /// The disposition codes in code order, retired ones too when asked.
    pub async fn list_dispositions(
        &self,
        who: &Caller,
        include_retired: bool,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<DispositionEntry>, ServiceError> {
        may_read(who)?;
        self.run(move |c| {
            Ok(dispositions::list_dispositions(
                c,
                include_retired,
                after.as_deref(),
                limit,
            )?)
        })
        .await
    }

    /// One disposition, retired or not.
    pub async fn disposition(
        &self,
        who: &Caller,
        code: String,
    ) -> Result<DispositionEntry, ServiceError> {
        may_read(who)?;
        self.run(move |c| found(dispositions::get_disposition(c, &code), "disposition"))
            .await
    }

    /// Adds a disposition (an admin). With a claim, a retry returns the disposition the first
    /// added.
    pub async fn create_disposition(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        cmd: CreateDisposition,
    ) -> Result<DispositionEntry, ServiceError> {
        may_change(who)?;
        let change = self.change(who);
        let row = Disposition {
            code: check_code(cmd.code.trim())?.to_owned(),
            description: validate_name(
                "description",
                &cmd.description,
                hubbook_core::triage::MAX_DESCRIPTION_CHARS,
            )?,
            timeframe_minutes: timeframe(cmd.timeframe_minutes)?,
            delivery: DeliveryFit::parse(&cmd.delivery)?,
            active: true,
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        let service_codes = services(&cmd.services)?;
        let now = change.at;
        self.run(move |c| {
            create_once(
                c,
                claim.as_ref(),
                now,
                |c| {
                    Ok(dispositions::create_disposition(
                        c,
                        &change,
                        row,
                        &service_codes,
                    )?)
                },
                |entry: &DispositionEntry| entry.disposition.code.clone(),
                |c, code| found(dispositions::get_disposition(c, code), "disposition"),
            )
        })
        .await
    }

    /// Changes or retires a disposition (an admin).
    pub async fn update_disposition(
        &self,
        who: &Caller,
        code: String,
        expected: Option<i64>,
        cmd: UpdateDisposition,
    ) -> Result<DispositionEntry, ServiceError> {
        may_change(who)?;
        let changes = DispositionChanges {
            description: validate_optional_name(
                "description",
                cmd.description.as_deref(),
                hubbook_core::triage::MAX_DESCRIPTION_CHARS,
            )?,
            timeframe_minutes: cmd.timeframe_minutes.map(timeframe).transpose()?,
            delivery: cmd
                .delivery
                .as_deref()
                .map(|d| DeliveryFit::parse(d).map(|f| f.as_str().to_owned()))
                .transpose()?,
            active: cmd.active,
        };
        let service_codes = cmd.services.as_deref().map(services).transpose()?;
        let change = self.change(who);
        self.run(move |c| {
            found(
                dispositions::update_disposition(
                    c,
                    &change,
                    &code,
                    expected,
                    changes,
                    service_codes.as_deref(),
                ),
                "disposition",
            )
        })
        .await
    }
}
