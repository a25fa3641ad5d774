//! The cluster manager's reports: utilisation, capacity (unused and lost), DNA, bookings by
//! practice and channel, activity for fee claims and enhanced access, as JSON or, with
//! `Accept: text/csv`, as CSV. The figures are aggregated by the database
//! (`hubbook_store::repo::reports`, where each is defined) and shaped into their document, rates
//! and shares derived, by `hubbook_service::reports::document`, whose table of the document the
//! CSV writes (the web console shows and downloads the same table); this module checks the
//! request and writes the two formats.

use super::schema;
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use hubbook_service::reports::document::{shape, ReportTable};
use hubbook_service::reports::ReportRequest;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::csv::{attachment, wants_csv, CsvWriter};
use crate::{auth::Principal, ApiError, AppState};

pub use hubbook_service::reports::document::{
    ActivityFigures, ActivityGroup, ActivityLine, BookingsFigures, BookingsGroup, CapacityFigures,
    CapacityGroup, DnaFigures, DnaGroup, EnhancedAccessFigures, EnhancedAccessWeek, Report,
    ReportBody, UtilisationFigures, UtilisationGroup,
};
pub use hubbook_service::reports::MAX_REPORT_DAYS;

/// The query of every report.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First local date of the period (ISO 8601).
    pub from: NaiveDate,
    /// Last local date of the period, inclusive; the period is at most 400 days.
    pub to: NaiveDate,
    /// How rows are grouped. utilisation: `week` (default), `day`, `hour`, `site`, `service`,
    /// `role`, `channel`; capacity: `week` (default), `day`, `site`, `service`, `role`; dna:
    /// `practice` (default), `service`, `site`, `weekday`, `hour`, `lead_time`, `week`; bookings:
    /// `practice` (default), `channel`; activity: `practice` (default), `requester`;
    /// enhanced-access: `week`.
    #[param(value_type = Option<schema::GroupBy>, inline)]
    pub group_by: Option<String>,
    /// utilisation and capacity: a cancellation less than this many hours before the start (or
    /// after it) is late; 0 to 168, default 24.
    #[param(schema_with = schema::late_cancel_hours)]
    pub late_cancel_hours: Option<i64>,
    /// activity: one row per appointment, with its requesting organisation and reference.
    pub detail: Option<bool>,
}

crate::problems!(
    ReportProblems: Forbidden,
    NotFound,
    UnknownReport,
    InvalidDateRange,
    InvalidGroupBy,
    InvalidLateCancelHours,
);

/// Reads a report: the rows grouped by `group_by` and the period's totals, as JSON or, with
/// `Accept: text/csv`, as RFC 4180 CSV (header row, CRLF, ISO 8601 dates, rates to four places,
/// hours to two) offered as `<cluster>-<report>-<from>-<to>.csv`. The cluster's manager only.
///
/// Definitions: *offered* slots are those of active sessions not removed, starting in the
/// period; *booked* ones hold an appointment not cancelled; *attended* = arrived or seen;
/// *cancelled late* = cancelled less than `late_cancel_hours` before the start; *unused* =
/// started unbooked; *utilisation* = booked / offered. Capacity is *lost* to withdrawn sessions
/// (not replaced), to late cancellations (slots left unbooked) and to DNAs. Local days, weeks
/// (Monday first), weekdays and hours are the cluster's time zone's.
#[utoipa::path(
    tag = "reports",
    params(
        ("code" = String, Path, description = "Cluster code"),
        ("name" = super::schema::ReportName, Path, description = "`utilisation`, `capacity`, `dna`, `bookings`, `activity` or `enhanced-access`"),
        ReportQuery,
        ("Accept" = Option<String>, Header, description = "`text/csv` for CSV; JSON otherwise"),
    ),
    responses(
        (status = 200, description = "The report; as CSV its columns are the JSON row's fields (`key`, `label`, then the figures)",
            content((ReportBody = "application/json"), (String = "text/csv")),
            headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"U00001-utilisation-2026-12-01-2026-12-31.csv\"`"))),
        ReportProblems,
    ),
    security(("bearer" = []))
)]
#[get("/clusters/{code}/reports/{name}")]
pub async fn read_report(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    // The rights first: a caller who may not read reports hears 403 whatever it asked for.
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, name) = path.into_inner();
    let q = query.into_inner();
    let request = ReportRequest::parse(
        &name,
        crate::extract::check_date("from", q.from)?,
        crate::extract::check_date("to", q.to)?,
        q.group_by.as_deref(),
        q.late_cancel_hours,
        q.detail.unwrap_or(false),
    )?;
    let data = state.hubbook.read_report(&who, code, request).await?;
    Ok(respond(&shape(data), wants_csv(&req)))
}

/// The report as JSON, or as a CSV attachment.
fn respond(body: &ReportBody, csv: bool) -> HttpResponse {
    if !csv {
        return HttpResponse::Ok()
            .insert_header((header::VARY, "Accept"))
            .json(body);
    }
    let table = ReportTable::of(body);
    attachment(&table.file_name, csv_text(&table))
}

/// A report table as an RFC 4180 CSV document: the header row, then one record per row (the
/// API's CSV and the web console's download of the same table, byte for byte).
pub fn csv_text(table: &ReportTable) -> String {
    let mut writer = CsvWriter::new(&table.columns);
    for row in &table.rows {
        writer.row(row);
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use hubbook_store::repo::reports::GroupBy;

    use super::*;

    fn query(from: &str, to: &str, group_by: Option<&str>) -> ReportQuery {
        ReportQuery {
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
            group_by: group_by.map(str::to_owned),
            late_cancel_hours: None,
            detail: None,
        }
    }

    fn kind(e: ApiError) -> &'static str {
        e.status_and_type().1
    }

    /// A request as the route checks it, with its errors as the API answers them.
    struct Request;

    impl Request {
        fn parse(name: &str, q: ReportQuery) -> Result<ReportRequest, ApiError> {
            Ok(ReportRequest::parse(
                name,
                q.from,
                q.to,
                q.group_by.as_deref(),
                q.late_cancel_hours,
                q.detail.unwrap_or(false),
            )?)
        }
    }

    #[test]
    fn requests_are_checked() {
        let ok = Request::parse("dna", query("2026-01-01", "2027-02-04", None)).unwrap();
        assert_eq!((ok.group, ok.late_cancel_hours), (GroupBy::Practice, 24));
        assert_eq!(
            kind(Request::parse("dna", query("2026-01-01", "2027-02-05", None)).unwrap_err()),
            "invalid-date-range"
        );
        assert_eq!(
            kind(Request::parse("dna", query("2026-02-01", "2026-01-31", None)).unwrap_err()),
            "invalid-date-range"
        );
        assert_eq!(
            kind(Request::parse("nope", query("2026-01-01", "2026-01-31", None)).unwrap_err()),
            "unknown-report"
        );
        let bad = Request::parse("capacity", query("2026-01-01", "2026-01-31", Some("hour")))
            .unwrap_err();
        assert_eq!(bad.status_and_type().1, "invalid-group-by");
        assert!(bad.to_string().contains("week, day, site, service, role"));
        let mut late = query("2026-01-01", "2026-01-31", None);
        late.late_cancel_hours = Some(169);
        assert_eq!(
            kind(Request::parse("utilisation", late.clone()).unwrap_err()),
            "invalid-late-cancel-hours"
        );
        late.late_cancel_hours = Some(-1);
        assert!(Request::parse("utilisation", late.clone()).is_err());
        late.late_cancel_hours = Some(0);
        assert_eq!(
            Request::parse("utilisation", late)
                .unwrap()
                .late_cancel_hours,
            0
        );
    }

    /// Every report body, an empty one above all, matches exactly one shape of the document's
    /// `ReportBody`, and that shape is the one its discriminator names.
    #[test]
    fn every_report_body_matches_one_shape_of_the_document() {
        use hubbook_service::reports::document::{ActivityLine, DETAIL_GROUP};
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let shape = |name: &str| {
            let schema = serde_json::json!({
                "$ref": format!("#/components/schemas/{name}"),
                "components": doc["components"],
            });
            jsonschema::draft202012::new(&schema).unwrap()
        };
        let top: Vec<String> = doc["components"]["schemas"]["ReportBody"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s["$ref"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let mapping = &doc["components"]["schemas"]["ReportBody"]["discriminator"]["mapping"];
        fn empty<R, T: Default>(report: &str, group_by: &str) -> Report<R, T> {
            Report {
                report: report.into(),
                cluster: "U00001".into(),
                from: "2026-12-01".parse().unwrap(),
                to: "2026-12-31".parse().unwrap(),
                group_by: group_by.into(),
                late_cancel_hours: None,
                as_of: "2026-12-01T09:00:00Z".parse().unwrap(),
                rows: Vec::new(),
                totals: T::default(),
            }
        }
        let bodies = [
            ReportBody::Utilisation(empty::<UtilisationGroup, _>("utilisation", "week")),
            ReportBody::Capacity(empty::<CapacityGroup, _>("capacity", "week")),
            ReportBody::Dna(empty::<DnaGroup, _>("dna", "practice")),
            ReportBody::Bookings(empty::<BookingsGroup, _>("bookings", "practice")),
            ReportBody::Activity(empty::<ActivityGroup, _>("activity", "practice")),
            ReportBody::ActivityDetail(empty::<ActivityLine, _>("activity", DETAIL_GROUP)),
            ReportBody::EnhancedAccess(empty::<EnhancedAccessWeek, _>("enhanced-access", "week")),
        ];
        for body in bodies {
            let json = serde_json::to_value(&body).unwrap();
            let matching: Vec<&String> = top
                .iter()
                .filter(|name| shape(name).is_valid(&json))
                .collect();
            assert_eq!(matching.len(), 1, "{json} matches {matching:?}");
            let named = mapping[json["report"].as_str().unwrap()].as_str().unwrap();
            assert!(named.ends_with(&format!("/{}", matching[0])), "{named}");
        }
        let detail = serde_json::to_value(ReportBody::ActivityDetail(empty::<
            ActivityLine,
            ActivityFigures,
        >(
            "activity", DETAIL_GROUP
        )))
        .unwrap();
        assert!(shape("ActivityDetailReport").is_valid(&detail));
        assert!(!shape("ActivityGroupsReport").is_valid(&detail));
    }
}
