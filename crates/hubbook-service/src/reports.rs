//! The cluster manager's reports: which report over which local dates grouped how, checked once,
//! and the aggregates the store computes for it (`hubbook_store::repo::reports`, where each
//! figure is defined); [`document`] shapes them, rates derived, into the document and table
//! every front end writes as JSON, CSV, an HTML table or a chart.

pub mod document;

use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::access::ClusterNeed;
use hubbook_core::fair_share::SharedDay;
use hubbook_store::repo::reports::{
    self, ActivityLine, ActivityRow, BookingsRow, CapacityRow, DnaRow, EnhancedAccess, GroupBy,
    UtilisationRow, Window,
};

use crate::access::cluster_for;
use crate::{Caller, Hubbook, ServiceError};

/// The longest period a report covers, in days.
pub const MAX_REPORT_DAYS: i64 = 400;
/// The late-cancellation window used unless the request sets one, in hours.
pub const DEFAULT_LATE_CANCEL_HOURS: u32 = 24;
/// The longest late-cancellation window a request may set, in hours (a week).
pub const MAX_LATE_CANCEL_HOURS: u32 = 168;

/// The reports of a cluster (the fair-share report is the sharing area's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportName {
    /// Slots offered and what became of them.
    Utilisation,
    /// Unused capacity and capacity lost, in slots and hours.
    Capacity,
    /// Did-not-attend counts and rates.
    Dna,
    /// Appointments by booking practice or channel, with fair shares.
    Bookings,
    /// Appointments per practice and service for fee claims.
    Activity,
    /// Minutes offered per 1,000 registered patients per week.
    EnhancedAccess,
}

impl ReportName {
    /// Every report, in the order the documentation lists them.
    pub const ALL: [ReportName; 6] = [
        Self::Utilisation,
        Self::Capacity,
        Self::Dna,
        Self::Bookings,
        Self::Activity,
        Self::EnhancedAccess,
    ];

    /// The report's name in a path or a file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Utilisation => "utilisation",
            Self::Capacity => "capacity",
            Self::Dna => "dna",
            Self::Bookings => "bookings",
            Self::Activity => "activity",
            Self::EnhancedAccess => "enhanced-access",
        }
    }

    /// The groupings the report offers; the first is the default.
    pub fn groups(self) -> &'static [GroupBy] {
        match self {
            Self::Utilisation => reports::UTILISATION_GROUPS,
            Self::Capacity => reports::CAPACITY_GROUPS,
            Self::Dna => reports::DNA_GROUPS,
            Self::Bookings => reports::BOOKINGS_GROUPS,
            Self::Activity => reports::ACTIVITY_GROUPS,
            Self::EnhancedAccess => reports::ENHANCED_ACCESS_GROUPS,
        }
    }
}

/// A report request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    /// Which report.
    pub name: ReportName,
    /// First local date.
    pub from: NaiveDate,
    /// Last local date, inclusive.
    pub to: NaiveDate,
    /// How rows are grouped.
    pub group: GroupBy,
    /// A cancellation less than this many hours before the start is late.
    pub late_cancel_hours: u32,
    /// Activity: one row per appointment.
    pub detail: bool,
}

impl ReportRequest {
    /// Checks a request: a known report, a period of at most [`MAX_REPORT_DAYS`] days whose end
    /// is not before its start, a grouping the report offers (its first when absent), and a late
    /// window of 0 to [`MAX_LATE_CANCEL_HOURS`] hours.
    pub fn parse(
        name: &str,
        from: NaiveDate,
        to: NaiveDate,
        group_by: Option<&str>,
        late_cancel_hours: Option<i64>,
        detail: bool,
    ) -> Result<Self, ServiceError> {
        let name = ReportName::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| ServiceError::UnknownReport(name.to_owned()))?;
        check_period(from, to)?;
        let groups = name.groups();
        let group = match group_by {
            None => groups[0],
            Some(g) => GroupBy::parse(g)
                .filter(|g| groups.contains(g))
                .ok_or_else(|| ServiceError::InvalidGroupBy {
                    report: name.as_str(),
                    groups: groups.iter().map(|g| g.as_str()).collect(),
                })?,
        };
        let late_cancel_hours = match late_cancel_hours {
            None => DEFAULT_LATE_CANCEL_HOURS,
            Some(h) => u32::try_from(h)
                .ok()
                .filter(|h| *h <= MAX_LATE_CANCEL_HOURS)
                .ok_or(ServiceError::InvalidLateCancelHours(MAX_LATE_CANCEL_HOURS))?,
        };
        Ok(Self {
            name,
            from,
            to,
            group,
            late_cancel_hours,
            detail,
        })
    }
}

/// Every report's period: in order, and at most [`MAX_REPORT_DAYS`] local dates.
pub fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), ServiceError> {
    if to < from {
        return Err(ServiceError::InvalidDateRange(
            "`to` is before `from`".into(),
        ));
    }
    if (to - from).num_days() + 1 > MAX_REPORT_DAYS {
        return Err(ServiceError::InvalidDateRange(format!(
            "a report covers at most {MAX_REPORT_DAYS} days"
        )));
    }
    Ok(())
}

/// A report's aggregates, as the store computed them.
#[derive(Debug, Clone)]
pub enum ReportRows {
    /// `utilisation`.
    Utilisation(Vec<UtilisationRow>),
    /// `capacity`.
    Capacity(Vec<CapacityRow>),
    /// `dna`.
    Dna(Vec<DnaRow>),
    /// `bookings`, with the period's shared slots by day when grouped by practice (they weigh
    /// the practices' fair shares).
    Bookings(Vec<BookingsRow>, Vec<SharedDay>),
    /// `activity`.
    Activity(Vec<ActivityRow>),
    /// `activity` with `detail`: one line per appointment.
    ActivityDetail(Vec<ActivityLine>),
    /// `enhanced-access`.
    EnhancedAccess(EnhancedAccess),
}

/// A report read: what was asked, of which cluster, when, and the aggregates.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The request.
    pub request: ReportRequest,
    /// The cluster's code.
    pub cluster_code: String,
    /// The period's instants in the cluster's zone.
    pub window: Window,
    /// When the report was read: slots that had started by then are past.
    pub as_of: DateTime<Utc>,
    /// The aggregates.
    pub rows: ReportRows,
}

impl Hubbook {
    /// Reads a report of a cluster (its manager).
    pub async fn read_report(
        &self,
        who: &Caller,
        code: String,
        request: ReportRequest,
    ) -> Result<ReportData, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            let zone = cluster.time_zone;
            let window = Window::new(zone, request.from, request.to, now.naive_utc());
            let (id, group, late) = (&cluster.id, request.group, request.late_cancel_hours);
            let rows = match request.name {
                ReportName::Utilisation => {
                    ReportRows::Utilisation(reports::utilisation(c, id, &window, group, late)?)
                }
                ReportName::Capacity => {
                    ReportRows::Capacity(reports::capacity(c, id, &window, group, late)?)
                }
                ReportName::Dna => ReportRows::Dna(reports::dna(c, id, &window, group)?),
                ReportName::Bookings => {
                    let days = if group == GroupBy::Practice {
                        reports::shared_slots_by_day(c, id, &window)?
                    } else {
                        Vec::new()
                    };
                    ReportRows::Bookings(reports::bookings(c, id, &window, group)?, days)
                }
                ReportName::Activity if request.detail => {
                    ReportRows::ActivityDetail(reports::activity_lines(c, id, &window)?)
                }
                ReportName::Activity => {
                    ReportRows::Activity(reports::activity(c, id, &window, group)?)
                }
                ReportName::EnhancedAccess => {
                    ReportRows::EnhancedAccess(reports::enhanced_access(c, id, &window)?)
                }
            };
            Ok(ReportData {
                request,
                cluster_code: cluster.code,
                window,
                as_of: now,
                rows,
            })
        })
        .await
    }
}
