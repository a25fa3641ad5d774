//! Expressions written so that the statements holding them stay prepared on each connection.
//!
//! A connection keeps a statement prepared only when diesel can tell that its SQL never
//! changes with its values. It cannot tell that for an `IN` list of bound values: SQLite takes
//! one placeholder per value, so every slot search and every check that a slot is free was
//! parsed and planned afresh, the checks inside the write lock.

use std::sync::LazyLock;

use diesel::backend::Backend;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use diesel::QueryResult;

use crate::schema::appointments;

/// The statuses of a live appointment as an SQL list of literals, from the core's list.
static LIVE_IN: LazyLock<String> = LazyLock::new(|| {
    let quoted: Vec<String> = hubbook_core::appointment::LIVE_STATUSES
        .iter()
        .map(|status| format!("'{status}'"))
        .collect();
    format!(" IN ({})", quoted.join(", "))
});

/// `appointments.status` is live (booked, arrived or seen), with the statuses written as
/// literals rather than bound: the statement keeps one shape, and both planners can see that
/// the partial index of live appointments by slot applies.
#[derive(Debug, Clone, Copy, QueryId)]
pub(crate) struct LiveAppointment;

impl Expression for LiveAppointment {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for LiveAppointment where appointments::status: AppearsOnTable<QS> {}

impl<QS> SelectableExpression<QS> for LiveAppointment where
    appointments::status: SelectableExpression<QS>
{
}

impl<GB> ValidGrouping<GB> for LiveAppointment {
    type IsAggregate = is_aggregate::Never;
}

impl<DB: Backend> QueryFragment<DB> for LiveAppointment {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_identifier("appointments")?;
        out.push_sql(".");
        out.push_identifier("status")?;
        out.push_sql(LIVE_IN.as_str());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    use super::*;

    #[test]
    fn the_live_statuses_are_the_cores_and_the_statement_stays_prepared() {
        // The statuses are plain names, safe to write as SQL literals.
        for status in hubbook_core::appointment::LIVE_STATUSES {
            assert!(
                status.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{status}"
            );
        }
        let live = appointments::table
            .filter(appointments::slot_id.eq("s"))
            .filter(LiveAppointment)
            .count();
        let sql = diesel::debug_query::<Pg, _>(&live).to_string();
        assert!(
            sql.contains(r#""appointments"."status" IN ('booked', 'arrived', 'seen')"#),
            "{sql}"
        );
        let sql = diesel::debug_query::<Sqlite, _>(&live).to_string();
        assert!(
            sql.contains("`appointments`.`status` IN ('booked', 'arrived', 'seen')"),
            "{sql}"
        );
        // The bound list it replaces would be parsed afresh on every SQLite connection's call.
        let bound = appointments::table
            .filter(appointments::slot_id.eq("s"))
            .filter(appointments::status.eq_any(hubbook_core::appointment::LIVE_STATUSES))
            .count();
        assert!(!QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&bound, &Sqlite).unwrap());
        assert!(QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&live, &Sqlite).unwrap());
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&live, &Pg).unwrap());
    }
}
