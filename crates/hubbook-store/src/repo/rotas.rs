//! Rotas: a cluster manager's named drafts of session templates.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::ClusterId;
use crate::models::Rota;
use crate::schema::rotas;
use crate::{new_id, DbConn, Page, StoreError};

audited!(Rota, "rota", |r| Some(&r.cluster_id));

/// Changes to a rota; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = rotas)]
pub struct RotaChanges {
    /// New name.
    pub name: Option<String>,
    /// New templates, as validated JSON.
    pub templates_json: Option<String>,
}

/// Creates a rota from already validated templates JSON.
pub fn create_rota(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    name: String,
    templates_json: String,
) -> Result<Rota, StoreError> {
    let row = Rota {
        cluster_id: cluster_id.to_owned(),
        id: new_id(),
        name,
        templates_json,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let id = row.id.clone();
    insert_audited(
        conn,
        change,
        |c| diesel::insert_into(rotas::table).values(&row).execute(c),
        |c| load(c, cluster_id, &id),
    )
}

fn load(conn: &mut DbConn, cluster_id: &ClusterId, id: &str) -> QueryResult<Rota> {
    rotas::table
        .find((cluster_id, id))
        .select(Rota::as_select())
        .first(conn)
}

/// Reads one rota of a cluster.
pub fn get_rota(conn: &mut DbConn, cluster_id: &ClusterId, id: &str) -> Result<Rota, StoreError> {
    Ok(load(conn, cluster_id, id)?)
}

/// Lists a cluster's rotas in id order after a cursor.
pub fn list_rotas(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Rota>, StoreError> {
    super::cluster_page!(conn, rotas, Rota, cluster_id, after, limit)
}

/// Changes a rota's name or templates, guarded by its version. Published sessions change only
/// when the rota is published again.
pub fn update_rota(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &str,
    expected: Option<i64>,
    changes: RotaChanges,
) -> Result<Rota, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, cluster_id, id),
        |c, version| {
            diesel::update(
                rotas::table
                    .find((cluster_id, id))
                    .filter(rotas::version.eq(version)),
            )
            .set((
                &changes,
                rotas::version.eq(version + 1),
                rotas::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}
