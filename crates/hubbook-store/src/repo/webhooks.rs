//! Webhooks: a cluster's event feed posted to a receiver, in order, at least once, with a
//! delivery log. The sending itself is the API crate's background task.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{audited, cluster_page, insert_audited, update_audited, Change};
use crate::ids::ClusterId;
use crate::models::{Event, Webhook, WebhookChanges, WebhookDelivery};
use crate::schema::{events, webhook_deliveries, webhooks};
use crate::{new_id, write_tx, DbConn, Page, StoreError};

audited!(Webhook, "webhook", |w| Some(&w.cluster_id));

/// A validated webhook to create.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where to post.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// Event kinds, space-separated, or `*`.
    pub event_types: String,
    /// Deliver events after this feed position (the feed's end now, or 0 for its start).
    pub from_seq: i64,
}

fn load(conn: &mut DbConn, cluster_id: &ClusterId, id: &str) -> QueryResult<Webhook> {
    webhooks::table
        .find(id)
        .filter(webhooks::cluster_id.eq(cluster_id))
        .select(Webhook::as_select())
        .first(conn)
}

/// Creates a webhook for a cluster. Audited (without its secret).
pub fn create_webhook(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    new: NewWebhook,
) -> Result<Webhook, StoreError> {
    let row = Webhook {
        id: new_id(),
        cluster_id: cluster_id.to_owned(),
        url: new.url,
        secret: new.secret,
        event_types: new.event_types,
        active: true,
        delivered_seq: new.from_seq,
        failures: 0,
        next_attempt_at: None,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let id = row.id.clone();
    insert_audited(
        conn,
        change,
        |c| diesel::insert_into(webhooks::table).values(&row).execute(c),
        |c| load(c, cluster_id, &id),
    )
}

/// Reads one webhook of a cluster.
pub fn get_webhook(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &str,
) -> Result<Webhook, StoreError> {
    Ok(load(conn, cluster_id, id)?)
}

/// Lists a cluster's webhooks in id order after a cursor.
pub fn list_webhooks(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Webhook>, StoreError> {
    cluster_page!(conn, webhooks, Webhook, cluster_id, after, limit)
}

/// Changes a webhook's URL, event kinds or whether it is active, guarded by its version. Resuming
/// a paused webhook clears its back-off so it is tried at once.
pub fn update_webhook(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &str,
    expected: Option<i64>,
    changes: WebhookChanges,
) -> Result<Webhook, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, cluster_id, id),
        |c, version| {
            diesel::update(
                webhooks::table
                    .find(id)
                    .filter(webhooks::cluster_id.eq(cluster_id))
                    .filter(webhooks::version.eq(version)),
            )
            .set((
                &changes,
                webhooks::next_attempt_at.eq(None::<NaiveDateTime>),
                webhooks::version.eq(version + 1),
                webhooks::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}

/// A webhook's delivery attempts, newest first, after a cursor (a delivery id).
pub fn list_deliveries(
    conn: &mut DbConn,
    hook: &Webhook,
    before: Option<&str>,
    limit: i64,
) -> Result<Page<WebhookDelivery>, StoreError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::cluster_id.eq(&hook.cluster_id))
        .filter(webhook_deliveries::webhook_id.eq(&hook.id))
        .order(webhook_deliveries::id.desc())
        .limit(limit + 1)
        .select(WebhookDelivery::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before.to_owned()));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |d| &d.id))
}

/// Whether a webhook may be claimed by `owner` at `now`: active, its back-off over, and its
/// lease free, already `owner`'s, or expired.
macro_rules! claimable {
    ($owner:expr, $now:expr) => {
        webhooks::active
            .eq(true)
            .and(
                webhooks::next_attempt_at
                    .is_null()
                    .or(webhooks::next_attempt_at.le($now)),
            )
            .and(
                webhooks::lease_owner
                    .is_null()
                    .or(webhooks::lease_owner.eq($owner))
                    .or(webhooks::lease_expires_at.le($now)),
            )
    };
}

/// Claims up to `limit` webhooks due for delivery for `owner` until `until`, and returns them:
/// each is then delivered by this owner alone until its lease expires or is given up. Due means
/// with an event past its position, and not backing off after a failure (`next_attempt_at` in
/// the future), whichever process failed it and whether or not it restarted since. The least
/// recently served come first (a lease given up keeps its time), so that no webhook waits
/// behind others for ever.
pub fn claim_due(
    conn: &mut DbConn,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Webhook>, StoreError> {
    write_tx(conn, |c| {
        let pending = diesel::dsl::exists(
            events::table
                .filter(events::cluster_id.eq(webhooks::cluster_id))
                .filter(events::seq.gt(webhooks::delivered_seq)),
        );
        let due: Vec<(String, ClusterId)> = webhooks::table
            .filter(claimable!(owner, now))
            .filter(pending)
            .order((
                webhooks::lease_expires_at.is_not_null().asc(),
                webhooks::lease_expires_at.asc(),
                webhooks::id.asc(),
            ))
            .limit(limit)
            .select((webhooks::id, webhooks::cluster_id))
            .load(c)?;
        let mut claimed = Vec::with_capacity(due.len());
        for (id, cluster_id) in due {
            // Conditional again: another process may have claimed it since it was read.
            let taken = diesel::update(webhooks::table.find(&id))
                .filter(webhooks::cluster_id.eq(&cluster_id))
                .filter(claimable!(owner, now))
                .set((
                    webhooks::lease_owner.eq(owner),
                    webhooks::lease_expires_at.eq(until),
                ))
                .execute(c)?;
            if taken == 1 {
                claimed.push(load(c, &cluster_id, &id)?);
            }
        }
        Ok(claimed)
    })
}

/// Renews `owner`'s lease on a webhook until `until` and returns the webhook as it stands now;
/// `None` when the lease is no longer `owner`'s (it expired and another process took it) or the
/// webhook was deleted. Called before each delivery, so a process that was stopped for longer
/// than its lease finds out before it posts again.
pub fn renew_lease(
    conn: &mut DbConn,
    hook: &Webhook,
    owner: &str,
    until: NaiveDateTime,
) -> Result<Option<Webhook>, StoreError> {
    write_tx(conn, |c| {
        let renewed = diesel::update(webhooks::table.find(&hook.id))
            .filter(webhooks::cluster_id.eq(&hook.cluster_id))
            .filter(webhooks::lease_owner.eq(owner))
            .set(webhooks::lease_expires_at.eq(until))
            .execute(c)?;
        if renewed == 0 {
            return Ok(None);
        }
        Ok(Some(load(c, &hook.cluster_id, &hook.id)?))
    })
}

/// Gives up `owner`'s lease on a webhook at `now`, so that any process may deliver its next
/// events; the time stays, as when the webhook was last served.
pub fn release_lease(
    conn: &mut DbConn,
    hook: &Webhook,
    owner: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    write_tx(conn, |c| {
        diesel::update(webhooks::table.find(&hook.id))
            .filter(webhooks::cluster_id.eq(&hook.cluster_id))
            .filter(webhooks::lease_owner.eq(owner))
            .set((
                webhooks::lease_owner.eq(None::<String>),
                webhooks::lease_expires_at.eq(Some(now)),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// The event kinds a webhook takes; `None` for all.
fn kinds_taken(hook: &Webhook) -> Option<Vec<String>> {
    (hook.event_types.trim() != "*").then(|| {
        hook.event_types
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    })
}

/// The next events a webhook should receive, in order (at most `limit`); events of kinds it
/// does not take are passed over.
pub fn pending_events(
    conn: &mut DbConn,
    hook: &Webhook,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let mut query = events::table
        .filter(events::cluster_id.eq(&hook.cluster_id))
        .filter(events::seq.gt(hook.delivered_seq))
        .order(events::seq.asc())
        .limit(limit)
        .select(Event::as_select())
        .into_boxed();
    if let Some(kinds) = kinds_taken(hook) {
        query = query.filter(events::kind.eq_any(kinds));
    }
    Ok(query.load(conn)?)
}

/// When the oldest event that an active webhook takes and has not yet been sent occurred, over
/// every active webhook (`None` when all are up to date): one indexed look-up per webhook.
pub fn oldest_undelivered(conn: &mut DbConn) -> Result<Option<NaiveDateTime>, StoreError> {
    let hooks: Vec<Webhook> = webhooks::table
        .filter(webhooks::active.eq(true))
        .select(Webhook::as_select())
        .load(conn)?;
    let mut oldest: Option<NaiveDateTime> = None;
    for hook in hooks {
        let mut first = events::table
            .filter(events::cluster_id.eq(&hook.cluster_id))
            .filter(events::seq.gt(hook.delivered_seq))
            .order(events::seq.asc())
            .select(events::occurred_at)
            .limit(1)
            .into_boxed();
        if let Some(kinds) = kinds_taken(&hook) {
            first = first.filter(events::kind.eq_any(kinds));
        }
        if let Some(at) = first.first::<NaiveDateTime>(conn).optional()? {
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
        }
    }
    Ok(oldest)
}

/// Moves `owner`'s webhook past the end of its cluster's feed when none of the events after its
/// position is of a kind it takes, so that it is not claimed again for them. The feed's end is
/// read first: events are numbered in commit order, so every event up to it is already visible
/// to the check that follows.
pub fn pass_over_untaken(conn: &mut DbConn, hook: &Webhook, owner: &str) -> Result<(), StoreError> {
    write_tx(conn, |c| {
        let end: Option<i64> = events::table
            .filter(events::cluster_id.eq(&hook.cluster_id))
            .select(diesel::dsl::max(events::seq))
            .first(c)?;
        let Some(end) = end.filter(|end| *end > hook.delivered_seq) else {
            return Ok(());
        };
        let mut taken = events::table
            .filter(events::cluster_id.eq(&hook.cluster_id))
            .filter(events::seq.gt(hook.delivered_seq))
            .filter(events::seq.le(end))
            .select(events::seq)
            .limit(1)
            .into_boxed();
        if let Some(kinds) = kinds_taken(hook) {
            taken = taken.filter(events::kind.eq_any(kinds));
        }
        if taken.first::<i64>(c).optional()?.is_some() {
            return Ok(());
        }
        diesel::update(webhooks::table.find(&hook.id))
            .filter(webhooks::cluster_id.eq(&hook.cluster_id))
            .filter(webhooks::lease_owner.eq(owner))
            .filter(webhooks::delivered_seq.lt(end))
            .set(webhooks::delivered_seq.eq(end))
            .execute(c)?;
        Ok(())
    })
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The event tried.
    pub event_seq: i64,
    /// Its id.
    pub event_id: String,
    /// When.
    pub at: NaiveDateTime,
    /// The receiver's status, if it answered.
    pub status_code: Option<i32>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Whether it succeeded (2xx).
    pub succeeded: bool,
    /// How long it took.
    pub duration_ms: i64,
    /// On failure: when to try again.
    pub retry_at: Option<NaiveDateTime>,
}

/// Logs an attempt and, while `owner` still holds the webhook's lease, moves the webhook on:
/// past the event on success (failures reset), or counts the failure and backs off until
/// `retry_at`. An attempt by a process that lost its lease is logged and changes nothing else.
pub fn record_attempt(
    conn: &mut DbConn,
    hook: &Webhook,
    owner: &str,
    attempt: &Attempt,
) -> Result<(), StoreError> {
    write_tx(conn, |c| {
        diesel::insert_into(webhook_deliveries::table)
            .values(&WebhookDelivery {
                id: new_id(),
                cluster_id: hook.cluster_id.clone(),
                webhook_id: hook.id.clone(),
                event_seq: attempt.event_seq,
                event_id: attempt.event_id.clone(),
                attempt: hook.failures + 1,
                attempted_at: attempt.at,
                succeeded: attempt.succeeded,
                status_code: attempt.status_code,
                error: attempt.error.clone(),
                duration_ms: attempt.duration_ms,
            })
            .execute(c)?;
        if attempt.succeeded {
            diesel::update(webhooks::table.find(&hook.id))
                .filter(webhooks::cluster_id.eq(&hook.cluster_id))
                .filter(webhooks::lease_owner.eq(owner))
                .filter(webhooks::delivered_seq.lt(attempt.event_seq))
                .set((
                    webhooks::delivered_seq.eq(attempt.event_seq),
                    webhooks::failures.eq(0),
                    webhooks::next_attempt_at.eq(None::<NaiveDateTime>),
                ))
                .execute(c)?;
        } else {
            diesel::update(webhooks::table.find(&hook.id))
                .filter(webhooks::cluster_id.eq(&hook.cluster_id))
                .filter(webhooks::lease_owner.eq(owner))
                .set((
                    webhooks::failures.eq(webhooks::failures + 1),
                    webhooks::next_attempt_at.eq(attempt.retry_at),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}
