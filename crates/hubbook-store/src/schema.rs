//! The diesel schema shared by both backends; it mirrors `migrations/*/` and a test checks it.

#![allow(missing_docs)]

diesel::table! {
    clusters (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        time_zone -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sites (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        name -> Text,
        kind -> Text,
        address -> Text,
        postcode -> Text,
        latitude -> Double,
        longitude -> Double,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    practices (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        ods_code -> Text,
        name -> Text,
        list_size -> BigInt,
        site_id -> Nullable<Text>,
        dsa_from -> Nullable<Date>,
        dsa_to -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    services (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        code -> Text,
        name -> Text,
        clinical_role -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        cluster_id -> Nullable<Text>,
        practice_id -> Nullable<Text>,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    installation_keys (name) {
        name -> Text,
        key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    work_leases (name) {
        name -> Text,
        owner -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    reference_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    sign_in_throttle (key) {
        key -> Text,
        failures -> Integer,
        last_failed_at -> Timestamp,
        blocked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    integrations (id) {
        id -> Text,
        client_id -> Text,
        name -> Text,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        practice_id -> Nullable<Text>,
    }
}

diesel::table! {
    consumer_patients (integration_id, nhs_number) {
        integration_id -> Text,
        nhs_number -> Text,
        name -> Text,
        birth_date -> Date,
        phone -> Text,
        email -> Nullable<Text>,
        registration -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    integration_clusters (cluster_id, integration_id) {
        cluster_id -> Text,
        integration_id -> Text,
    }
}

diesel::table! {
    idempotency_keys (owner, key) {
        owner -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        cluster_id -> Text,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}

diesel::table! {
    rotas (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        name -> Text,
        templates_json -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        rota_id -> Text,
        template_key -> Text,
        local_date -> Date,
        site_id -> Text,
        service_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        slot_minutes -> Integer,
        capacity -> Integer,
        delivery -> Text,
        fingerprint -> Text,
        ambiguous -> Bool,
        status -> Text,
        status_reason -> Nullable<Text>,
        clinician -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    slots (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        session_id -> Text,
        site_id -> Text,
        service_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        lane -> Integer,
        delivery -> Text,
        channel -> Text,
        channel_practice_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
        released_at -> Nullable<Timestamp>,
        sharing_version -> BigInt,
        orphaned_at -> Nullable<Timestamp>,
        release_announced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    holds (cluster_id, slot_id) {
        cluster_id -> Text,
        slot_id -> Text,
        id -> Text,
        holder -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    appointments (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        slot_id -> Text,
        session_id -> Text,
        status -> Text,
        nhs_number -> Nullable<Text>,
        patient_name -> Text,
        patient_birth_date -> Date,
        patient_phone -> Text,
        patient_email -> Nullable<Text>,
        adjustments -> Nullable<Text>,
        registered_practice_id -> Nullable<Text>,
        booking_practice_id -> Nullable<Text>,
        booked_by -> Text,
        channel -> Text,
        reason -> Nullable<Text>,
        requester_ods -> Nullable<Text>,
        requester_reference -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        site_id -> Text,
        service_id -> Text,
        clinical_role -> Text,
        delivery -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancel_reason -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        outcome_at -> Nullable<Timestamp>,
        notes -> Nullable<Text>,
        part_of -> Nullable<Text>,
    }
}

diesel::table! {
    rebookings (cluster_id, id) {
        cluster_id -> Text,
        id -> Text,
        appointment_id -> Text,
        reason -> Text,
        flagged_at -> Timestamp,
        flagged_by -> Text,
        resolution -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
    }
}

diesel::table! {
    sharing_rules (cluster_id, version) {
        cluster_id -> Text,
        version -> BigInt,
        rules_json -> Text,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    dispositions (code) {
        code -> Text,
        description -> Text,
        timeframe_minutes -> Integer,
        delivery -> Text,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    disposition_services (disposition_code, service_code) {
        disposition_code -> Text,
        service_code -> Text,
    }
}

diesel::table! {
    integration_certificates (sha256) {
        sha256 -> Text,
        integration_id -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    integration_secrets (id) {
        id -> Text,
        integration_id -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    requester_contacts (cluster_id, appointment_id) {
        cluster_id -> Text,
        appointment_id -> Text,
        name -> Text,
        phone -> Text,
        organisation_type -> Nullable<Text>,
    }
}

diesel::table! {
    triage_bookings (cluster_id, appointment_id) {
        cluster_id -> Text,
        appointment_id -> Text,
        disposition_code -> Text,
        triaged_at -> Timestamp,
        due_by -> Timestamp,
        case_reference -> Nullable<Text>,
    }
}

diesel::table! {
    event_counters (cluster_id) {
        cluster_id -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    events (cluster_id, seq) {
        cluster_id -> Text,
        seq -> BigInt,
        id -> Text,
        kind -> Text,
        occurred_at -> Timestamp,
        appointment_id -> Nullable<Text>,
        slot_id -> Nullable<Text>,
        booked_by -> Nullable<Text>,
        data -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        cluster_id -> Text,
        url -> Text,
        secret -> Text,
        event_types -> Text,
        active -> Bool,
        delivered_seq -> BigInt,
        failures -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        cluster_id -> Text,
        webhook_id -> Text,
        event_seq -> BigInt,
        event_id -> Text,
        attempt -> Integer,
        attempted_at -> Timestamp,
        succeeded -> Bool,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::joinable!(integration_clusters -> integrations (integration_id));
diesel::joinable!(integration_secrets -> integrations (integration_id));
diesel::joinable!(integration_certificates -> integrations (integration_id));
diesel::joinable!(consumer_patients -> integrations (integration_id));
diesel::joinable!(disposition_services -> dispositions (disposition_code));
diesel::joinable!(integration_clusters -> clusters (cluster_id));

diesel::allow_tables_to_appear_in_same_query!(
    clusters,
    sites,
    practices,
    services,
    users,
    sign_in_throttle,
    installation_keys,
    work_leases,
    reference_version,
    integrations,
    consumer_patients,
    requester_contacts,
    integration_clusters,
    idempotency_keys,
    audit_events,
    rotas,
    sessions,
    slots,
    holds,
    appointments,
    rebookings,
    sharing_rules,
    dispositions,
    disposition_services,
    integration_secrets,
    integration_certificates,
    triage_bookings,
    event_counters,
    events,
    webhooks,
    webhook_deliveries,
);
