//! The PostgreSQL schema is ready to be distributed by cluster (Citus's rules), read from the
//! catalog of a freshly migrated database: every primary key and unique index of a distributed
//! table includes its distribution column; a foreign key joins co-located tables on that column
//! or points at a reference table; a reference table points at no distributed one. A table is
//! distributed by `cluster_id` unless its comment says otherwise ("Distribution: reference", or
//! "Distribution: <column>").

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Text};
use hubbook_store::test_db::TestDb;

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    comment: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
}

#[derive(QueryableByName)]
struct Unique {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    name: String,
    /// Empty names stand for expressions.
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Text)]
    target: String,
    #[diesel(sql_type = Array<Text>)]
    target_columns: Vec<String>,
}

/// How a table would be distributed: copied to every node, or split by a column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Distribution {
    Reference,
    By(String),
}

fn distribution(comment: &str) -> Distribution {
    match comment
        .strip_prefix("Distribution: ")
        .and_then(|rest| rest.split(['.', ' ']).next())
    {
        Some("reference") => Distribution::Reference,
        Some(column) if !column.is_empty() => Distribution::By(column.to_owned()),
        _ => Distribution::By("cluster_id".into()),
    }
}

/// What in the current schema breaks the rules of distribution.
fn violations(conn: &mut PgConnection) -> (BTreeMap<String, Distribution>, Vec<String>) {
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT c.relname::text AS name, coalesce(obj_description(c.oid, 'pg_class'), '') AS comment \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' \
         AND c.relname <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .unwrap();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.relname::text AS table, a.attname::text AS name, a.attnotnull AS not_null \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 \
         AND NOT a.attisdropped",
    )
    .load(conn)
    .unwrap();
    let uniques: Vec<Unique> = diesel::sql_query(
        "SELECT c.relname::text AS table, i.relname::text AS name, \
         array(SELECT coalesce(a.attname::text, '') FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n) \
               LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
               ORDER BY k.n) AS columns \
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND x.indisunique",
    )
    .load(conn)
    .unwrap();
    let keys: Vec<ForeignKey> = diesel::sql_query(
        "SELECT f.relname::text AS table, k.conname::text AS name, \
         array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, n) \
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.n) AS columns, \
         t.relname::text AS target, \
         array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, n) \
               JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.n) AS target_columns \
         FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid JOIN pg_class t ON t.oid = k.confrelid \
         JOIN pg_namespace n ON n.oid = f.relnamespace \
         WHERE n.nspname = current_schema() AND k.contype = 'f'",
    )
    .load(conn)
    .unwrap();

    let by_table: BTreeMap<String, Distribution> = tables
        .iter()
        .map(|t| (t.name.clone(), distribution(&t.comment)))
        .collect();
    let mut found = Vec::new();
    for (table, how) in &by_table {
        let Distribution::By(column) = how else {
            continue;
        };
        match columns
            .iter()
            .find(|c| &c.table == table && &c.name == column)
        {
            None => found.push(format!("{table}: no distribution column {column}")),
            Some(c) if !c.not_null => found.push(format!("{table}: {column} may be NULL")),
            Some(_) => {}
        }
        for unique in uniques.iter().filter(|u| &u.table == table) {
            if !unique.columns.contains(column) {
                found.push(format!(
                    "{table}: unique index {} ({}) leaves out {column}",
                    unique.name,
                    unique.columns.join(", ")
                ));
            }
        }
    }
    for key in &keys {
        let (Some(from), Some(to)) = (by_table.get(&key.table), by_table.get(&key.target)) else {
            continue;
        };
        match (from, to) {
            (_, Distribution::Reference) => {}
            (Distribution::Reference, Distribution::By(_)) => found.push(format!(
                "{}: reference table's foreign key {} points into distributed {}",
                key.table, key.name, key.target
            )),
            (Distribution::By(a), Distribution::By(b)) => {
                let joined = key
                    .columns
                    .iter()
                    .zip(&key.target_columns)
                    .any(|(c, t)| c == a && t == b);
                if a != b || !joined {
                    found.push(format!(
                        "{}: foreign key {} to {} does not join on the distribution column",
                        key.table, key.name, key.target
                    ));
                }
            }
        }
    }
    (by_table, found)
}

#[test]
fn every_table_of_cluster_data_is_keyed_by_its_cluster() {
    let db = TestDb::postgres();
    let mut conn = PgConnection::establish(&db.url).expect("the test database");
    let (tables, found) = violations(&mut conn);
    assert!(found.is_empty(), "not ready to distribute: {found:#?}");
    // The rules were applied to the tables that matter, not to an empty schema.
    for table in [
        "appointments",
        "slots",
        "holds",
        "events",
        "webhooks",
        "webhook_deliveries",
        "audit_events",
        "patient_locks",
    ] {
        assert_eq!(
            tables.get(table),
            Some(&Distribution::By("cluster_id".into())),
            "{table}"
        );
    }
    assert_eq!(tables.get("users"), Some(&Distribution::Reference));

    // And the check sees a table that breaks them.
    diesel::sql_query(
        "CREATE TABLE probe_keys (cluster_id TEXT NOT NULL REFERENCES clusters (id), \
         id TEXT PRIMARY KEY, slot_id TEXT)",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "ALTER TABLE users ADD CONSTRAINT probe_practice FOREIGN KEY (cluster_id, practice_id) \
         REFERENCES practices (cluster_id, id)",
    )
    .execute(&mut conn)
    .unwrap();
    let (_, found) = violations(&mut conn);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("probe_keys_pkey") || found[1].contains("probe_keys_pkey"));
    assert!(found.iter().any(|f| f.contains("probe_practice")));
}
