//! Practices: the member GP surgeries of a cluster, with list size and data-sharing agreement.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::{ClusterId, PracticeId};
use crate::models::{Practice, PracticeChanges};
use crate::schema::practices;
use crate::{new_id, DbConn, Page, StoreError};

audited!(Practice, "practice", |p| Some(&p.cluster_id));

/// A validated practice to create.
#[derive(Debug, Clone)]
pub struct NewPractice {
    /// ODS code.
    pub ods_code: String,
    /// Display name.
    pub name: String,
    /// Registered list size.
    pub list_size: i64,
    /// Own site, which must be a site of the same cluster.
    pub site_id: Option<String>,
    /// Agreement start.
    pub dsa_from: Option<NaiveDate>,
    /// Agreement end.
    pub dsa_to: Option<NaiveDate>,
}

/// Creates a practice; an ODS code already in the cluster is a `Duplicate` conflict and an
/// unknown site a `MissingReference`.
pub fn create_practice(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    new: NewPractice,
) -> Result<Practice, StoreError> {
    let row = Practice {
        cluster_id: cluster_id.to_owned(),
        id: new_id().into(),
        ods_code: new.ods_code,
        name: new.name,
        list_size: new.list_size,
        site_id: new.site_id,
        dsa_from: new.dsa_from,
        dsa_to: new.dsa_to,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let id = row.id.clone();
    insert_audited(
        conn,
        change,
        |c| {
            diesel::insert_into(practices::table)
                .values(&row)
                .execute(c)
        },
        |c| load(c, cluster_id, &id),
    )
}

fn load(conn: &mut DbConn, cluster_id: &ClusterId, id: &PracticeId) -> QueryResult<Practice> {
    practices::table
        .find((cluster_id, id))
        .select(Practice::as_select())
        .first(conn)
}

/// Reads one practice of a cluster.
pub fn get_practice(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &PracticeId,
) -> Result<Practice, StoreError> {
    Ok(load(conn, cluster_id, id)?)
}

/// Finds a practice of a cluster by its ODS code.
pub fn get_practice_by_ods(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    ods_code: &str,
) -> Result<Practice, StoreError> {
    Ok(practices::table
        .filter(practices::cluster_id.eq(cluster_id))
        .filter(practices::ods_code.eq(ods_code))
        .select(Practice::as_select())
        .first(conn)?)
}

/// The practice with this ODS code in any of these clusters, in one query.
pub fn find_practice_by_ods(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
    ods_code: &str,
) -> Result<Practice, StoreError> {
    Ok(practices::table
        .filter(practices::cluster_id.eq_any(cluster_ids))
        .filter(practices::ods_code.eq(ods_code))
        .order(practices::cluster_id.asc())
        .select(Practice::as_select())
        .first(conn)?)
}

/// Lists a cluster's practices in id order after a cursor.
pub fn list_practices(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Practice>, StoreError> {
    super::cluster_page!(conn, practices, Practice, cluster_id, after, limit)
}

/// Changes a practice, guarded by its version.
pub fn update_practice(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &PracticeId,
    expected: Option<i64>,
    changes: PracticeChanges,
) -> Result<Practice, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, cluster_id, id),
        |c, version| {
            diesel::update(
                practices::table
                    .find((cluster_id, id))
                    .filter(practices::version.eq(version)),
            )
            .set((
                &changes,
                practices::version.eq(version + 1),
                practices::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}
