//! HTTP routes, one module per area; [`api_v1`] registers those under `/api/v1`.

pub mod appointments;
pub mod audit;
pub mod auth;
pub mod clusters;
pub mod dispositions;
pub mod events;
pub mod integrations;
pub mod ops;
pub mod practices;
pub mod rebooking;
pub mod reports;
pub mod rotas;
pub mod schema;
pub mod services;
pub mod sessions;
pub mod sharing;
pub mod sites;
pub mod slots;
pub mod triage;
pub mod users;
pub mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every `/api/v1` route (with its OpenAPI description).
///
/// The router tries routes in this order, matching each pattern with a path parameter by a
/// regular expression, so the desk's hot routes (search, hold, book) come first: behind sixty
/// others, matching cost 5% of the server's CPU under a booking load. None of them can shadow a
/// later route, and routes of one path with other methods are still found.
pub fn api_v1(cfg: &mut ServiceConfig) {
    cfg.service(slots::search_slots)
        .service(appointments::hold_slot)
        .service(appointments::book)
        .service(auth::issue_token)
        .service(clusters::create_cluster)
        .service(clusters::list_clusters)
        .service(clusters::get_cluster)
        .service(clusters::update_cluster)
        .service(practices::list_practices)
        .service(practices::create_practice)
        .service(practices::get_practice)
        .service(practices::update_practice)
        .service(sites::list_sites)
        .service(sites::create_site)
        .service(sites::get_site)
        .service(sites::update_site)
        .service(services::list_services)
        .service(services::create_service)
        .service(services::get_service)
        .service(services::update_service)
        .service(users::list_users)
        .service(users::create_user)
        .service(users::get_user)
        .service(users::update_user)
        .service(integrations::list_integrations)
        .service(integrations::create_integration)
        .service(integrations::get_integration)
        .service(integrations::update_integration)
        .service(integrations::list_secrets)
        .service(integrations::rotate_secret)
        .service(integrations::revoke_secret)
        .service(integrations::add_certificate)
        .service(integrations::list_certificates)
        .service(integrations::revoke_certificate)
        .service(dispositions::list_dispositions)
        .service(dispositions::create_disposition)
        .service(dispositions::get_disposition)
        .service(dispositions::update_disposition)
        .service(triage::book)
        .service(triage::availability)
        .service(events::list_events)
        .service(webhooks::create_webhook)
        .service(webhooks::list_webhooks)
        .service(webhooks::get_webhook)
        .service(webhooks::update_webhook)
        .service(webhooks::list_deliveries)
        .service(rotas::list_rotas)
        .service(rotas::create_rota)
        .service(rotas::get_rota)
        .service(rotas::replace_rota)
        .service(rotas::publish_rota)
        .service(rotas::withdraw_rota)
        .service(sessions::list_sessions)
        .service(sessions::get_session)
        .service(sessions::cancel_session)
        .service(sessions::update_session)
        .service(rebooking::list_rebooking)
        .service(rebooking::resolve_rebooking)
        .service(sharing::get_sharing)
        .service(sharing::set_sharing)
        .service(sharing::fair_share)
        // After the fair-share route, which this one would otherwise shadow.
        .service(reports::read_report)
        .service(slots::slot_visibility)
        .service(slots::set_slot_channel)
        .service(appointments::release_hold)
        .service(appointments::get_appointment)
        .service(appointments::cancel)
        .service(appointments::reschedule)
        .service(appointments::record_outcome)
        .service(appointments::amend_notes)
        .service(appointments::list_appointments)
        .service(appointments::day_list)
        .service(audit::list_audit);
}

/// Registers the unauthenticated operations routes at the root.
pub fn operations(cfg: &mut ServiceConfig) {
    cfg.service(ops::live)
        .service(ops::ready)
        .service(ops::metrics);
}
