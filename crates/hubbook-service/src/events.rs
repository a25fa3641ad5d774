//! What happened, for those who watch: a cluster's event feed read after a cursor, webhooks that
//! post it to a receiver, and the audit trail.

use hubbook_core::access::{ClusterNeed, Forbidden};
use hubbook_core::Role;
use hubbook_store::models::{AuditEvent, Event, Webhook, WebhookChanges, WebhookDelivery};
use hubbook_store::repo::audit::{self, AuditFilter};
use hubbook_store::repo::idempotency::Claim;
use hubbook_store::repo::{clusters, events, webhooks};
use hubbook_store::Page;

use crate::access::cluster_for;
use crate::error::found;
use crate::idempotency::create_once;
use crate::{Caller, Hubbook, ServiceError};

/// A read of a cluster's feed: after a position, up to a number of events, of some types.
#[derive(Debug, Clone)]
pub struct ReadFeed {
    /// The cluster's code.
    pub cluster: String,
    /// The last position processed (0 for the feed's start).
    pub after: i64,
    /// At most this many events (1 to 500).
    pub limit: i64,
    /// Only these types (all when empty); each must be one of `events::KINDS`.
    pub kinds: Vec<String>,
}

/// A page of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// The cluster's code.
    pub cluster_code: String,
    /// The events after the cursor, in order.
    pub events: Vec<Event>,
    /// Where to resume: the last event's position, or the cursor given when nothing was new.
    pub next_after: i64,
    /// Whether more events are waiting now.
    pub has_more: bool,
}

/// A webhook to add.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// The receiver (checked by [`check_url`]).
    pub url: String,
    /// The event types posted, stored space-separated (`*` for all; checked by [`check_types`]).
    pub event_types: String,
    /// Deliver the feed from its start rather than from now.
    pub from_start: bool,
    /// The signing secret, shown to the caller once.
    pub secret: String,
}

/// A receiver URL: `https`, or `http` to a loopback host; at most 2,000 characters. Refusals are
/// `InvalidWebhookUrl`.
pub fn check_url(url: &str) -> Result<String, ServiceError> {
    let url = url.trim();
    let bad = || ServiceError::InvalidWebhookUrl;
    if url.len() > 2000 || url.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_owned()
    };
    if host.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(url.to_owned()),
        "http" if loopback => Ok(url.to_owned()),
        _ => Err(bad()),
    }
}

/// Event types: known ones, or `*`; stored space-separated, each once.
pub fn check_types(types: Option<&[String]>) -> Result<String, ServiceError> {
    let types = match types {
        None => return Ok("*".into()),
        Some(t) if t.is_empty() || t.iter().any(|k| k == "*") => return Ok("*".into()),
        Some(t) => t,
    };
    let mut out: Vec<&str> = Vec::new();
    for t in types {
        let known = known_kind(t)?;
        if !out.contains(&known) {
            out.push(known);
        }
    }
    Ok(out.join(" "))
}

/// An event type of the feed, or `UnknownEventType`.
pub fn known_kind(kind: &str) -> Result<&'static str, ServiceError> {
    events::KINDS
        .iter()
        .find(|k| **k == kind.trim())
        .copied()
        .ok_or_else(|| ServiceError::UnknownEventType(kind.to_owned()))
}

impl Hubbook {
    /// Reads a cluster's event feed after a cursor: its manager every event, a triage service of
    /// the cluster the events of what it booked.
    pub async fn read_feed(&self, who: &Caller, read: ReadFeed) -> Result<FeedPage, ServiceError> {
        for kind in &read.kinds {
            known_kind(kind)?;
        }
        let who = who.clone();
        self.run(move |c| {
            let code = &read.cluster;
            let (cluster_id, booked_by) = if who.role == Role::Triage {
                let cluster = clusters::get_cluster_by_code(c, &code.to_ascii_uppercase())
                    .ok()
                    .filter(|cl| who.in_cluster(&cl.id))
                    .ok_or_else(|| {
                        ServiceError::NotFound(format!("no cluster {code} that you may see"))
                    })?;
                (cluster.id, Some(who.actor()))
            } else {
                (cluster_for(c, &who, code, ClusterNeed::Manage)?.id, None)
            };
            let cluster_code = clusters::get_cluster(c, &cluster_id)?.code;
            let query = events::FeedQuery {
                after: read.after,
                limit: read.limit + 1,
                booked_by,
                kinds: read.kinds,
            };
            let mut rows = events::list_events(c, &cluster_id, &query)?;
            let limit = usize::try_from(read.limit).unwrap_or(0);
            let has_more = rows.len() > limit;
            rows.truncate(limit);
            Ok(FeedPage {
                next_after: rows.last().map_or(read.after, |e| e.seq),
                cluster_code,
                events: rows,
                has_more,
            })
        })
        .await
    }

    /// The position of a cluster's newest event (its manager; 0 before the first), so a reader
    /// can start a page of the feed a number of events back from the end.
    pub async fn feed_position(&self, who: &Caller, code: String) -> Result<i64, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            Ok(events::last_seq(c, &cluster.id)?)
        })
        .await
    }

    /// Adds a webhook to a cluster (its manager); with a claim, a retry adds it once and answers
    /// the webhook without its secret.
    pub async fn create_webhook(
        &self,
        who: &Caller,
        code: String,
        claim: Option<Claim>,
        new: NewWebhook,
    ) -> Result<Webhook, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            create_once(
                c,
                claim.as_ref(),
                now.naive_utc(),
                |c| {
                    let from_seq = if new.from_start {
                        0
                    } else {
                        events::last_seq(c, &cluster.id)?
                    };
                    Ok(webhooks::create_webhook(
                        c,
                        &change,
                        &cluster.id,
                        webhooks::NewWebhook {
                            url: new.url,
                            secret: new.secret,
                            event_types: new.event_types,
                            from_seq,
                        },
                    )?)
                },
                |w: &Webhook| w.id.clone(),
                |c, id| found(webhooks::get_webhook(c, &cluster.id, id), "webhook"),
            )
        })
        .await
    }

    /// A cluster's webhooks (its manager).
    pub async fn list_webhooks(
        &self,
        who: &Caller,
        code: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Webhook>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            Ok(webhooks::list_webhooks(
                c,
                &cluster.id,
                after.as_deref(),
                limit,
            )?)
        })
        .await
    }

    /// One webhook of a cluster (its manager).
    pub async fn webhook(
        &self,
        who: &Caller,
        code: String,
        id: String,
    ) -> Result<Webhook, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            found(webhooks::get_webhook(c, &cluster.id, &id), "webhook")
        })
        .await
    }

    /// Changes, pauses or resumes a webhook, guarded by the version read.
    pub async fn update_webhook(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        changes: WebhookChanges,
    ) -> Result<Webhook, ServiceError> {
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            found(
                webhooks::update_webhook(c, &change, &cluster.id, &id, expected, changes),
                "webhook",
            )
        })
        .await
    }

    /// A webhook's delivery log, newest first.
    pub async fn webhook_deliveries(
        &self,
        who: &Caller,
        code: String,
        id: String,
        before: Option<String>,
        limit: i64,
    ) -> Result<Page<WebhookDelivery>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            let hook = found(webhooks::get_webhook(c, &cluster.id, &id), "webhook")?;
            Ok(webhooks::list_deliveries(
                c,
                &hook,
                before.as_deref(),
                limit,
            )?)
        })
        .await
    }

    /// Audit events, oldest first: a manager its cluster's, an admin every cluster's. `filter`'s
    /// cluster is set from the caller, whatever it held. An admin sees no patient: an
    /// appointment's states before and after are left out of its events.
    pub async fn audit_trail(
        &self,
        who: &Caller,
        mut filter: AuditFilter,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<AuditEvent>, ServiceError> {
        filter.cluster_id = match who.role {
            Role::Admin => None,
            Role::ClusterManager => Some(
                who.scope
                    .cluster
                    .clone()
                    .ok_or(Forbidden("no cluster in scope"))?,
            ),
            _ => return Err(Forbidden("the audit trail is for managers and admins").into()),
        };
        let admin = who.role == Role::Admin;
        let mut page = self
            .run(move |c| Ok(audit::list_audit(c, &filter, after.as_deref(), limit)?))
            .await?;
        if admin {
            for event in page.items.iter_mut().filter(|e| e.entity == "appointment") {
                event.before_json = None;
                event.after_json = None;
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_urls_are_https_or_loopback_http() {
        assert!(check_url("https://reminders.example.org/hooks/hubbook").is_ok());
        assert!(check_url("http://127.0.0.1:8123/hook").is_ok());
        assert!(check_url("http://localhost/hook").is_ok());
        assert!(check_url("http://[::1]:9000/").is_ok());
        for bad in [
            "http://reminders.example.org/hook",
            "ftp://example.org/",
            "https://",
            "https://user:pw@example.org/",
            "http://127.0.0.1.example.org/",
            "https://exa mple.org/",
            "example.org/hook",
        ] {
            assert!(check_url(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn event_types_are_checked() {
        assert_eq!(check_types(None).unwrap(), "*");
        assert_eq!(
            check_types(Some(&[
                "appointment.booked".into(),
                "appointment.booked".into()
            ]))
            .unwrap(),
            "appointment.booked"
        );
        assert!(check_types(Some(&["appointment.deleted".into()])).is_err());
    }
}
