//! Signing in and token checks: every failure is a problem+json 401.

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::helpers::{TestApp, JWT_SECRET, PASSWORD};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn good_login_gives_a_working_token(app: TestApp) {
    let reply = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "username": "ROOT", "password": PASSWORD})),
        )
        .await;
    let body = reply.ok(200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let token = body["access_token"].as_str().unwrap();
    app.get("/api/v1/clusters", token).await.ok(200);

    // The form encoding OAuth 2.0 clients use works too.
    let form = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .form(&[
            ("grant_type", "password"),
            ("username", "root"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
}

async fn wrong_password_and_unknown_user_are_refused_alike(app: TestApp) {
    for (user, password) in [
        ("root", "not-the-password"),
        ("nobody", PASSWORD),
        ("root", ""),
    ] {
        let reply = app
            .call(
                Method::POST,
                "/api/v1/auth/token",
                None,
                Some(json!({"grant_type": "password", "username": user, "password": password})),
            )
            .await;
        let problem = reply.problem(401, "invalid-credentials");
        assert_eq!(problem["detail"], "the credentials are not valid");
    }
    let unknown_grant = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "implicit"})),
        )
        .await;
    unknown_grant.problem(422, "invalid-body");
}

async fn disabled_users_and_revoked_clients_cannot_sign_in(app: TestApp) {
    let c = app.cluster("U10001").await;
    // The hub staff member's token works, then not on the next request after the deactivation,
    // then again once the user is active again.
    app.get("/api/v1/clusters/U10001", &c.hub_staff)
        .await
        .ok(200);
    app.update_user(&c, "hub-u10001", json!({"active": false}))
        .await;
    app.get("/api/v1/clusters/U10001", &c.hub_staff)
        .await
        .problem(401, "invalid-token");
    app.get("/api/v1/clusters/U10001", &c.manager).await.ok(200);
    let reply = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "username": "hub-u10001", "password": PASSWORD})),
        )
        .await;
    reply.problem(401, "invalid-credentials");

    let created = app
        .post(
            "/api/v1/integrations",
            &app.admin,
            json!({"name": "Other 111", "clusters": ["U10001"]}),
        )
        .await;
    let body = created.ok(201).clone();
    let (client_id, secret) = (
        body["client_id"].as_str().unwrap(),
        body["client_secret"].as_str().unwrap(),
    );
    app.client_token(client_id, secret).await.ok(200);
    app.client_token(client_id, "wrong-secret")
        .await
        .problem(401, "invalid-credentials");
    app.patch(
        &format!("/api/v1/integrations/{}", body["id"].as_str().unwrap()),
        &app.admin,
        json!({"active": false}),
    )
    .await
    .ok(200);
    app.client_token(client_id, secret)
        .await
        .problem(401, "invalid-credentials");
    app.update_user(&c, "hub-u10001", json!({"active": true}))
        .await;
    app.get("/api/v1/clusters/U10001", &c.hub_staff)
        .await
        .ok(200);
}

async fn bad_tokens_are_refused(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    // The admin's own id: a well-signed token must also name a user who is still active.
    let admin_claims = app.admin.split('.').nth(1).unwrap();
    let admin_claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(admin_claims)
            .unwrap(),
    )
    .unwrap();
    let admin_id = admin_claims["sub"].as_str().unwrap().to_owned();
    let claims = |exp: i64| json!({"sub": admin_id, "kind": "user", "role": "admin", "scope": {}, "iat": now - 10, "exp": exp});
    let sign = |claims: &serde_json::Value, secret: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let expired = sign(&claims(now - 60), JWT_SECRET);
    let wrong_key = sign(&claims(now + 600), "another-secret-that-is-long-enough-000");
    let good = sign(&claims(now + 600), JWT_SECRET);
    let (head, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let tampered_claims = json!({"sub": admin_id, "kind": "user", "role": "admin", "scope": {}, "iat": now, "exp": now + 9_999_999});
    let tampered = format!(
        "{head}.{}.{signature}",
        b64(tampered_claims.to_string().as_bytes())
    );
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(now + 600).to_string().as_bytes())
    );
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims(now + 600),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();

    app.get("/api/v1/clusters", &good).await.ok(200);
    // Well signed, for a user who does not exist.
    let nobody = sign(
        &json!({"sub": "x", "kind": "user", "role": "admin", "scope": {}, "iat": now - 10, "exp": now + 600}),
        JWT_SECRET,
    );
    app.get("/api/v1/clusters", &nobody)
        .await
        .problem(401, "invalid-token");
    for token in [
        expired.as_str(),
        wrong_key.as_str(),
        tampered.as_str(),
        alg_none.as_str(),
        hs512.as_str(),
        "garbage",
    ] {
        let reply = app.get("/api/v1/clusters", token).await;
        reply.problem(401, "invalid-token");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
    let expired_reply = app.get("/api/v1/clusters", &expired).await;
    assert!(expired_reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("expired"));
    app.call(Method::GET, "/api/v1/clusters", None, None)
        .await
        .problem(401, "invalid-token");
    let basic = app
        .send(
            Method::GET,
            "/api/v1/clusters",
            None,
            None,
            &[("Authorization", "Basic cm9vdDp4")],
        )
        .await;
    basic.problem(401, "invalid-token");
}

/// Signs in with a password as JSON.
async fn password_token(app: &TestApp, username: &str, password: &str) -> crate::helpers::Reply {
    app.call(
        Method::POST,
        "/api/v1/auth/token",
        None,
        Some(json!({"grant_type": "password", "username": username, "password": password})),
    )
    .await
}

/// Counts the audit events of one throttling action for one key.
fn throttle_audits(app: &TestApp, action: &str, key: &str) -> i64 {
    app.count(&format!(
        "audit_events WHERE action = '{action}' AND entity_id = '{key}' AND cluster_id = '' AND actor = 'anonymous'"
    ))
}

/// Five wrong passwords in a row cost nothing; the sixth makes the name wait 30 seconds (known
/// or not, so the wait does not tell which names exist), during which even the right password
/// is refused unchecked without lengthening the wait; the right password works once it ends,
/// and clears the count. A further wrong try after a wait doubles the next one.
async fn wrong_passwords_make_the_name_wait_longer_each_time(app: TestApp) {
    for name in ["root", "nobody-at-all"] {
        for _ in 0..5 {
            password_token(&app, name, "not-the-password")
                .await
                .problem(401, "invalid-credentials");
        }
        let throttled = password_token(&app, name, "not-the-password").await;
        let problem = throttled.problem(429, "sign-in-throttled");
        assert_eq!(throttled.headers["retry-after"], "30");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("try again in 30 s"),
            "{problem}"
        );
        assert_eq!(
            throttle_audits(&app, "sign_in.blocked", &format!("user:{name}")),
            1
        );
    }
    app.clock.advance(chrono::Duration::seconds(10));
    for _ in 0..3 {
        let still = password_token(&app, "ROOT", crate::helpers::PASSWORD).await;
        still.problem(429, "sign-in-throttled");
        assert_eq!(
            still.headers["retry-after"], "20",
            "hammering does not lengthen the wait"
        );
    }
    assert_eq!(throttle_audits(&app, "sign_in.throttled", "user:root"), 3);
    assert_eq!(
        app.count("sign_in_throttle WHERE key = 'user:root' AND failures = 6"),
        1
    );
    app.clock.advance(chrono::Duration::seconds(20));
    password_token(&app, "root", PASSWORD).await.ok(200);
    assert_eq!(app.count("sign_in_throttle WHERE key = 'user:root'"), 0);
    // The unknown name's next wrong try waits twice as long.
    let longer = password_token(&app, "nobody-at-all", "not-the-password").await;
    longer.problem(429, "sign-in-throttled");
    assert_eq!(longer.headers["retry-after"], "60");
    // The right password cleared root's count: five more wrong ones cost nothing again.
    for _ in 0..5 {
        password_token(&app, "root", "not-the-password")
            .await
            .problem(401, "invalid-credentials");
    }
    password_token(&app, "root", PASSWORD).await.ok(200);
    // Each key counted every wrong try it was checked for: 6 + 7 + 5 from this address.
    assert_eq!(
        app.count("sign_in_throttle WHERE key = 'addr:127.0.0.1' AND failures = 18"),
        1
    );
}

/// One address may get twenty names wrong (receptionists share a practice's address), then it
/// waits, whatever name it tries next, the right password of a real user included; a right
/// password does not clear the address's count, so its next wrong try waits longer.
async fn many_wrong_names_from_one_address_make_the_address_wait(app: TestApp) {
    for n in 0..20 {
        password_token(&app, &format!("guess-{n}"), "not-the-password")
            .await
            .problem(401, "invalid-credentials");
    }
    let throttled = password_token(&app, "guess-20", "not-the-password").await;
    throttled.problem(429, "sign-in-throttled");
    assert_eq!(throttled.headers["retry-after"], "30");
    assert_eq!(
        throttle_audits(&app, "sign_in.blocked", "addr:127.0.0.1"),
        1
    );
    let refused = password_token(&app, "root", PASSWORD).await;
    refused.problem(429, "sign-in-throttled");
    assert_eq!(
        throttle_audits(&app, "sign_in.throttled", "addr:127.0.0.1"),
        1
    );
    app.clock.advance(chrono::Duration::seconds(30));
    password_token(&app, "root", PASSWORD).await.ok(200);
    let longer = password_token(&app, "guess-22", "not-the-password").await;
    longer.problem(429, "sign-in-throttled");
    assert_eq!(longer.headers["retry-after"], "60");
}

/// A client id is throttled as a username is: five wrong secrets, then a wait, during which its
/// live secret is refused too; after the wait the secret works.
async fn wrong_client_secrets_make_the_client_wait(app: TestApp) {
    app.cluster("U10011").await;
    let created = app
        .post(
            "/api/v1/integrations",
            &app.admin,
            json!({"name": "Throttled 111", "clusters": ["U10011"]}),
        )
        .await;
    let body = created.ok(201).clone();
    let (client_id, secret) = (
        body["client_id"].as_str().unwrap(),
        body["client_secret"].as_str().unwrap(),
    );
    for _ in 0..5 {
        app.client_token(client_id, "wrong-secret")
            .await
            .problem(401, "invalid-credentials");
    }
    let throttled = app.client_token(client_id, "wrong-secret").await;
    throttled.problem(429, "sign-in-throttled");
    assert_eq!(throttled.headers["retry-after"], "30");
    app.client_token(client_id, secret)
        .await
        .problem(429, "sign-in-throttled");
    assert_eq!(
        throttle_audits(&app, "sign_in.blocked", &format!("client:{client_id}")),
        1
    );
    app.clock.advance(chrono::Duration::seconds(31));
    app.client_token(client_id, secret).await.ok(200);
    // Names that no database could store, or that no index could hold, are never a server
    // error: a NUL is refused before sign-in, a long name is counted as any other.
    password_token(&app, "a\u{0}b", "x")
        .await
        .problem(400, "invalid-text");
    app.client_token("a\u{0}b", "x")
        .await
        .problem(400, "invalid-text");
    password_token(&app, &"long".repeat(1000), "x")
        .await
        .problem(401, "invalid-credentials");
}

/// A cluster manager adds receptionists and hub staff, not other managers; an admin may.
async fn only_an_admin_adds_a_cluster_manager(app: TestApp) {
    let c = app.cluster("U10003").await;
    let path = format!("/api/v1/clusters/{}/users", c.code);
    let manager = |name: &str| json!({"username": name, "display_name": "Second Manager", "password": PASSWORD, "role": "cluster_manager"});
    let refused = app.post(&path, &c.manager, manager("manager-two")).await;
    let problem = refused.problem(403, "forbidden");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("an admin adds managers"));
    app.post(&path, &app.admin, manager("manager-three"))
        .await
        .ok(201);
    app.post(&path, &c.manager, json!({"username": "hub-two", "display_name": "Hub", "password": PASSWORD, "role": "hub_staff"}))
        .await
        .ok(201);
}

/// A token stands only while its user has the role and practice it was issued for: changed in
/// the database (by an operator, or another process), the next request is refused.
async fn a_changed_role_refuses_the_next_request(app: TestApp) {
    use diesel::connection::SimpleConnection;
    let c = app.cluster("U10009").await;
    app.post(
        "/api/v1/clusters/U10009/users",
        &c.manager,
        json!({"username": "desk-moving", "display_name": "D", "password": PASSWORD,
               "role": "receptionist", "practice_id": c.practice_id}),
    )
    .await
    .ok(201);
    let token = app.login("desk-moving", PASSWORD).await;
    app.pool
        .get()
        .unwrap()
        .batch_execute(
            "UPDATE users SET role = 'hub_staff', practice_id = NULL WHERE username = 'desk-moving'",
        )
        .unwrap();
    app.get("/api/v1/clusters/U10009", &token)
        .await
        .problem(401, "invalid-token");
    // Signing in again gives a token of the new role, which stands.
    let again = app.login("desk-moving", PASSWORD).await;
    app.get("/api/v1/clusters/U10009", &again).await.ok(200);
}

both!(
    a_changed_role_refuses_the_next_request,
    only_an_admin_adds_a_cluster_manager,
    wrong_passwords_make_the_name_wait_longer_each_time,
    many_wrong_names_from_one_address_make_the_address_wait,
    wrong_client_secrets_make_the_client_wait,
    good_login_gives_a_working_token,
    wrong_password_and_unknown_user_are_refused_alike,
    disabled_users_and_revoked_clients_cannot_sign_in,
    bad_tokens_are_refused,
);
