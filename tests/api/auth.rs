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

/// Five wrong passwords in a row lock a name for fifteen minutes, known or not (so the lock
/// does not tell which names exist), and the right password does not get past the lock.
async fn wrong_passwords_lock_the_name_for_a_while(app: TestApp) {
    let token = |username: &'static str, password: &'static str| {
        app.call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "username": username, "password": password})),
        )
    };
    for name in ["root", "nobody-at-all"] {
        for _ in 0..4 {
            token(name, "not-the-password")
                .await
                .problem(401, "invalid-credentials");
        }
        let locked = token(name, "not-the-password").await;
        locked.problem(429, "locked-out");
        assert_eq!(locked.headers["retry-after"], "900");
    }
    app.clock.advance(chrono::Duration::minutes(5));
    let still = token("ROOT", PASSWORD).await;
    let problem = still.problem(429, "locked-out");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ask a cluster manager to set a new password"),
        "{problem}"
    );
    assert_eq!(still.headers["retry-after"], "600");
    app.clock.advance(chrono::Duration::minutes(10));
    token("root", PASSWORD).await.ok(200);
    // A right password clears the count: four more wrong ones do not lock.
    for _ in 0..4 {
        token("root", "not-the-password")
            .await
            .problem(401, "invalid-credentials");
    }
    token("root", PASSWORD).await.ok(200);
    token("root", "not-the-password")
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
    wrong_passwords_lock_the_name_for_a_while,
    good_login_gives_a_working_token,
    wrong_password_and_unknown_user_are_refused_alike,
    disabled_users_and_revoked_clients_cannot_sign_in,
    bad_tokens_are_refused,
);
