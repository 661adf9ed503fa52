//! The organization plugin over HTTP (better-auth-api.md §7), on SQLite and PostgreSQL:
//! organizations, members and roles, invitations, teams, permission denials per role, the
//! last-owner rules, invitation expiry and recipient checks, tenant isolation (another
//! organization's ids are never readable or writable), validation errors, and that refused
//! requests write nothing.

mod common;

use std::time::Duration;

use common::{servers, servers_with, Resp, TestServer};
use serde_json::{json, Value};

/// A signed-up user and their session cookie.
struct User {
    id: String,
    email: String,
    cookie: String,
}

async fn user(s: &TestServer, email: &str, name: &str) -> User {
    let r = s.sign_up(email, name).await;
    User {
        id: r.json()["user"]["id"].as_str().expect("id").to_string(),
        email: email.to_string(),
        cookie: r.session_cookie(),
    }
}

/// A user whose email is verified (through the emailed link).
async fn verified(s: &TestServer, email: &str, name: &str) -> User {
    let u = user(s, email, name).await;
    let link = s.last_link_to(email);
    let r = s.http.get(&link).send().await.expect("verify");
    assert_eq!(r.status().as_u16(), 302, "verification link works");
    u
}

async fn post(s: &TestServer, u: &User, path: &str, body: Value) -> Resp {
    s.post(path, body, &s.with_cookie(&u.cookie)).await
}

async fn get(s: &TestServer, u: &User, path: &str) -> Resp {
    s.get(path, &[("cookie", u.cookie.as_str())]).await
}

fn code(r: &Resp) -> (u16, Option<String>) {
    (r.status, r.code())
}

fn err(status: u16, code: &str) -> (u16, Option<String>) {
    (status, Some(code.to_string()))
}

async fn create_org(s: &TestServer, u: &User, name: &str, slug: &str) -> Value {
    let r = post(
        s,
        u,
        "/organization/create",
        json!({"name": name, "slug": slug}),
    )
    .await;
    assert_eq!(r.status, 200, "create {slug}: {}", r.text);
    r.json()
}

/// The invitation id from the last invitation email to `email`.
fn invitation_id_from_mail(s: &TestServer, email: &str) -> String {
    let sent = s.mailer.sent_to(email);
    let last = sent
        .iter()
        .rev()
        .find(|m| m.email.template_name() == Some("organization-invitation"))
        .expect("an invitation email");
    let url = last.variable("url").and_then(Value::as_str).expect("url");
    url.rsplit('/').next().expect("id").to_string()
}

/// `owner` invites `invitee` (already signed up and verified) with `role`; the invitee accepts.
async fn join(s: &TestServer, owner: &User, invitee: &User, org: &str, role: &str) -> Value {
    let r = post(
        s,
        owner,
        "/organization/invite-member",
        json!({"email": invitee.email, "role": role, "organizationId": org}),
    )
    .await;
    assert_eq!(r.status, 200, "invite: {}", r.text);
    let id = invitation_id_from_mail(s, &invitee.email);
    assert_eq!(id, r.json()["id"].as_str().expect("id"));
    let r = post(
        s,
        invitee,
        "/organization/accept-invitation",
        json!({"invitationId": id}),
    )
    .await;
    assert_eq!(r.status, 200, "accept: {}", r.text);
    r.json()["member"].clone()
}

async fn session_of(s: &TestServer, u: &User) -> Value {
    get(s, u, "/get-session").await.json()["session"].clone()
}

#[tokio::test]
async fn organizations_are_created_read_updated_activated_and_deleted() {
    for s in servers().await {
        let ada = user(&s, "ada@example.com", "Ada").await;
        let bob = user(&s, "bob@example.com", "Bob").await;

        // Validation comes before the session check; no session → empty 401.
        let r = s
            .post("/organization/create", json!({"slug": "x"}), &[])
            .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        assert!(r.text.contains("[body.name]"), "{}", r.text);
        let r = s
            .post(
                "/organization/create",
                json!({"name": "Acme", "slug": "acme"}),
                &[],
            )
            .await;
        assert_eq!((r.status, r.text.as_str()), (401, ""));
        let r = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "Acme", "slug": "Not A Slug"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        let r = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "Acme", "slug": "acme", "metadata": "nope"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));

        // Create: metadata parsed, the owner member, the session switched to it.
        let r = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "Acme", "slug": "acme", "logo": "https://x/l.png", "metadata": {"tier": 2}}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            r.set_cookie("better-auth.session_token").is_none(),
            "no new cookie"
        );
        let org = r.json();
        let org_id = org["id"].as_str().expect("id").to_string();
        assert!(org_id.starts_with("shared_organization__"));
        assert_eq!(org["name"], "Acme");
        assert_eq!(org["slug"], "acme");
        assert_eq!(org["logo"], "https://x/l.png");
        assert_eq!(org["metadata"], json!({"tier": 2}));
        assert!(org["createdAt"].as_str().expect("date").ends_with('Z'));
        let members = org["members"].as_array().expect("members");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["role"], "owner");
        assert_eq!(members[0]["userId"], ada.id.as_str());
        assert_eq!(members[0]["organizationId"], org_id.as_str());
        let session = session_of(&s, &ada).await;
        assert_eq!(session["activeOrganizationId"], org_id.as_str());
        assert!(session["activeTeamId"].is_string(), "default team active");

        // Without metadata the key is omitted; keepCurrentActiveOrganization keeps the session.
        let other = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "Other", "slug": "other", "keepCurrentActiveOrganization": true}),
        )
        .await
        .json();
        assert!(other.get("metadata").is_none(), "{other}");
        assert_eq!(
            session_of(&s, &ada).await["activeOrganizationId"],
            org_id.as_str()
        );

        // Slugs.
        let r = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "Dup", "slug": "acme"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "ORGANIZATION_ALREADY_EXISTS"));
        let r = post(
            &s,
            &ada,
            "/organization/check-slug",
            json!({"slug": "acme"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "ORGANIZATION_SLUG_ALREADY_TAKEN"));
        let r = post(
            &s,
            &ada,
            "/organization/check-slug",
            json!({"slug": "free"}),
        )
        .await;
        assert_eq!((r.status, r.json()), (200, json!({"status": true})));

        // Reads: metadata as the stored string elsewhere.
        let r = get(&s, &ada, "/organization/get-organization").await;
        assert_eq!(r.json()["id"], org_id.as_str());
        assert_eq!(r.json()["metadata"], r#"{"tier":2}"#);
        let r = get(
            &s,
            &ada,
            "/organization/get-organization?organizationSlug=other",
        )
        .await;
        assert_eq!(r.json()["slug"], "other");
        let r = get(
            &s,
            &ada,
            "/organization/get-organization?organizationSlug=nope",
        )
        .await;
        assert_eq!(code(&r), err(400, "ORGANIZATION_NOT_FOUND"));
        let full = get(&s, &ada, "/organization/get-full-organization")
            .await
            .json();
        assert_eq!(full["members"][0]["user"]["email"], "ada@example.com");
        assert_eq!(full["invitations"], json!([]));
        assert_eq!(full["teams"].as_array().map(Vec::len), Some(1));
        assert_eq!(full["teams"][0]["name"], "Acme");
        assert_eq!(full["teams"][0]["memberCount"], 1);
        let list = get(&s, &ada, "/organization/list").await.json();
        let slugs: Vec<&str> = list
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|o| o["slug"].as_str())
            .collect();
        assert_eq!(slugs.len(), 3, "personal + 2: {slugs:?}");
        assert!(slugs.contains(&"acme") && slugs.contains(&"other"));

        // A non-member: 403 and their active organization is cleared.
        let r = get(
            &s,
            &bob,
            &format!("/organization/get-organization?organizationId={org_id}"),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );
        assert_eq!(
            session_of(&s, &bob).await["activeOrganizationId"],
            Value::Null
        );
        let r = get(&s, &bob, "/organization/get-organization").await;
        assert_eq!((r.status, r.json()), (200, Value::Null), "nothing active");

        // Update: owner only (bob is not a member), metadata parsed, slug clash.
        let r = post(
            &s,
            &bob,
            "/organization/update",
            json!({"data": {"name": "Mine"}, "organizationId": org_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );
        let r = s
            .post("/organization/update", json!({"data": {"name": "X"}}), &[])
            .await;
        assert_eq!(
            (r.status, r.json()),
            (401, json!({"message": "User not found"}))
        );
        let r = post(
            &s,
            &ada,
            "/organization/update",
            json!({"data": {"slug": "other"}}),
        )
        .await;
        assert_eq!(code(&r), err(400, "ORGANIZATION_SLUG_ALREADY_TAKEN"));
        let r = post(
            &s,
            &ada,
            "/organization/update",
            json!({"data": {"name": "Acme Inc", "metadata": {"tier": 3}, "logo": null}}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["name"], "Acme Inc");
        assert_eq!(r.json()["metadata"], json!({"tier": 3}));
        assert_eq!(r.json()["logo"], Value::Null);

        // set-active: by slug, unknown id (403, cleared), null, re-activate.
        let r = post(
            &s,
            &ada,
            "/organization/set-active",
            json!({"organizationSlug": "other"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["slug"], "other");
        assert!(
            r.set_cookie("better-auth.session_token").is_some(),
            "cookie re-sent"
        );
        let r = post(
            &s,
            &ada,
            "/organization/set-active",
            json!({"organizationId": "shared_organization__nope"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );
        assert_eq!(
            session_of(&s, &ada).await["activeOrganizationId"],
            Value::Null
        );
        let r = post(&s, &ada, "/organization/set-active", json!({})).await;
        assert_eq!((r.status, r.json()), (200, Value::Null));
        let r = post(
            &s,
            &ada,
            "/organization/set-active",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(r.json()["id"], org_id.as_str());
        let r = post(
            &s,
            &ada,
            "/organization/set-active",
            json!({"organizationId": null}),
        )
        .await;
        assert_eq!((r.status, r.json()), (200, Value::Null));
        assert_eq!(
            session_of(&s, &ada).await["activeOrganizationId"],
            Value::Null
        );

        // has-permission.
        let r = post(
            &s,
            &ada,
            "/organization/has-permission",
            json!({"permissions": {"organization": ["delete"]}}),
        )
        .await;
        assert_eq!(code(&r), err(400, "NO_ACTIVE_ORGANIZATION"));
        let r = post(
            &s,
            &ada,
            "/organization/has-permission",
            json!({"organizationId": org_id, "permissions": {"organization": ["delete"]}}),
        )
        .await;
        assert_eq!(r.json(), json!({"error": null, "success": true}));
        let r = post(
            &s,
            &ada,
            "/organization/has-permission",
            json!({"organizationId": org_id, "permission": {"organization": ["delete"]}}),
        )
        .await;
        assert_eq!(r.json()["success"], false, "the legacy key never passes");
        let r = post(
            &s,
            &ada,
            "/organization/has-permission",
            json!({"organizationId": org_id, "permissions": {"billing": ["read"]}}),
        )
        .await;
        assert_eq!(r.json()["success"], false);
        let r = post(
            &s,
            &ada,
            "/organization/has-permission",
            json!({"permissions": {"a": []}, "permission": {"a": []}}),
        )
        .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        let r = post(
            &s,
            &bob,
            "/organization/has-permission",
            json!({"organizationId": org_id, "permissions": {"team": ["create"]}}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(401, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );

        // Delete: non-member refused, owner deletes; everything of it is gone.
        let r = post(
            &s,
            &bob,
            "/organization/delete",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );
        let r = post(
            &s,
            &ada,
            "/organization/delete",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["slug"], "acme");
        assert_eq!(r.json()["metadata"], r#"{"tier":3}"#);
        let r = get(
            &s,
            &ada,
            &format!("/organization/get-organization?organizationId={org_id}"),
        )
        .await;
        assert_eq!(code(&r), err(400, "ORGANIZATION_NOT_FOUND"));
        let n: (i64,) = sqlx_count(&s, "iam_member", &org_id).await;
        assert_eq!(n.0, 0, "members cascade");
        s.close().await;
    }
}

/// Rows of `table` in `org`, read directly.
async fn sqlx_count(s: &TestServer, table: &str, org: &str) -> (i64,) {
    let mut sql = shared_server::db::repo::Sql::new(format!(
        "SELECT COUNT(*) FROM {table} WHERE organization_id = "
    ));
    sql.push_bind(org);
    let mut pooled = s.test.db.acquire().await.expect("conn");
    sql.fetch_one(&mut pooled.conn()).await.expect("count")
}

#[tokio::test]
async fn member_roles_permissions_and_owner_rules() {
    for s in servers().await {
        let ada = verified(&s, "ada@example.com", "Ada").await;
        let bea = verified(&s, "bea@example.com", "Bea").await;
        let cal = verified(&s, "cal@example.com", "Cal").await;
        let org = create_org(&s, &ada, "Acme", "acme").await;
        let org_id = org["id"].as_str().expect("id").to_string();
        let bea_member = join(&s, &ada, &bea, &org_id, "admin").await;
        let cal_member = join(&s, &ada, &cal, &org_id, "member").await;
        assert_eq!(bea_member["role"], "admin");
        let bea_mid = bea_member["id"].as_str().expect("id").to_string();
        let cal_mid = cal_member["id"].as_str().expect("id").to_string();
        let ada_mid = org["members"][0]["id"].as_str().expect("id").to_string();

        // Accepting made the organization active for the invitee.
        assert_eq!(
            session_of(&s, &bea).await["activeOrganizationId"],
            org_id.as_str()
        );

        // list-members (sorted, filtered, paged).
        let r = get(
            &s,
            &cal,
            "/organization/list-members?sortBy=email&sortDirection=desc",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let all = r.json();
        assert_eq!(all["total"], 3);
        let emails: Vec<&str> = all["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|m| m["user"]["email"].as_str())
            .collect();
        assert_eq!(
            emails,
            ["cal@example.com", "bea@example.com", "ada@example.com"]
        );
        let r = get(
            &s,
            &cal,
            "/organization/list-members?filterField=role&filterValue=admin",
        )
        .await;
        assert_eq!(
            (
                r.json()["total"].clone(),
                r.json()["members"][0]["id"].clone()
            ),
            (json!(1), json!(bea_mid))
        );
        let r = get(&s, &cal, "/organization/list-members?limit=1&offset=1").await;
        assert_eq!(
            (
                r.json()["total"].clone(),
                r.json()["members"].as_array().map(Vec::len)
            ),
            (json!(3), Some(1))
        );
        let r = get(&s, &cal, "/organization/list-members?limit=abc").await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));

        // Active member and roles.
        let r = get(&s, &cal, "/organization/get-active-member").await;
        assert_eq!(
            (r.json()["id"].clone(), r.json()["user"]["name"].clone()),
            (json!(cal_mid), json!("Cal"))
        );
        let r = get(&s, &cal, "/organization/get-active-member-role").await;
        assert_eq!(r.json(), json!({"role": "member"}));
        let r = get(
            &s,
            &cal,
            &format!("/organization/get-active-member-role?userId={}", bea.id),
        )
        .await;
        assert_eq!(r.json(), json!({"role": "admin"}));

        // Permission denials per role.
        let r = post(
            &s,
            &cal,
            "/organization/update-member-role",
            json!({"memberId": bea_mid, "role": "member"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
        );
        let r = post(
            &s,
            &bea,
            "/organization/update-member-role",
            json!({"memberId": cal_mid, "role": "owner"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"),
            "only owners grant owner"
        );
        let r = post(
            &s,
            &bea,
            "/organization/update-member-role",
            json!({"memberId": ada_mid, "role": "member"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"),
            "only owners touch owners"
        );
        let r = post(
            &s,
            &cal,
            "/organization/update",
            json!({"data": {"name": "Mine"}}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION")
        );
        let r = post(
            &s,
            &bea,
            "/organization/delete",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION")
        );
        let r = post(
            &s,
            &cal,
            "/organization/invite-member",
            json!({"email": "x@example.com", "role": "member"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(
                403,
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION"
            )
        );
        let r = post(
            &s,
            &cal,
            "/organization/remove-member",
            json!({"memberIdOrEmail": bea.email}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(401, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER")
        );
        let r = post(
            &s,
            &bea,
            "/organization/has-permission",
            json!({"permissions": {"member": ["update"], "organization": ["update"]}}),
        )
        .await;
        assert_eq!(r.json()["success"], true);
        let r = post(
            &s,
            &cal,
            "/organization/has-permission",
            json!({"permissions": {"ac": ["read"]}}),
        )
        .await;
        assert_eq!(r.json()["success"], true);

        // Multi-role members; unknown and empty roles.
        let r = post(
            &s,
            &bea,
            "/organization/update-member-role",
            json!({"memberId": cal_mid, "role": ["admin", "member"]}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["role"], "admin,member");
        assert_eq!(r.json()["id"], cal_mid.as_str(), "plain member object");
        let r = get(&s, &cal, "/organization/get-active-member-role").await;
        assert_eq!(r.json()["role"], "admin,member");
        let r = post(
            &s,
            &bea,
            "/organization/update-member-role",
            json!({"memberId": cal_mid, "role": "member, boss"}),
        )
        .await;
        assert_eq!(
            (r.status, r.json()),
            (
                400,
                json!({"code": "ROLE_NOT_FOUND", "message": "ROLE_NOT_FOUND: boss"})
            )
        );
        let r = post(
            &s,
            &bea,
            "/organization/update-member-role",
            json!({"memberId": cal_mid, "role": " , "}),
        )
        .await;
        assert_eq!((r.status, r.text.as_str()), (400, ""));
        let r = post(
            &s,
            &bea,
            "/organization/update-member-role",
            json!({"memberId": cal_mid}),
        )
        .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        let r = post(
            &s,
            &bea,
            "/organization/update-member-role",
            json!({"memberId": cal_mid, "role": "member"}),
        )
        .await;
        assert_eq!(r.json()["role"], "member");

        // Last-owner rules.
        let r = post(
            &s,
            &ada,
            "/organization/update-member-role",
            json!({"memberId": ada_mid, "role": "admin"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER")
        );
        let r = post(
            &s,
            &ada,
            "/organization/leave",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
        );
        let r = post(
            &s,
            &bea,
            "/organization/remove-member",
            json!({"memberIdOrEmail": ada_mid}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
        );
        let r = get(&s, &ada, "/organization/get-active-member-role").await;
        assert_eq!(r.json()["role"], "owner", "nothing changed");
        // With a second owner, the first may step down.
        let r = post(
            &s,
            &ada,
            "/organization/update-member-role",
            json!({"memberId": bea_mid, "role": "owner"}),
        )
        .await;
        assert_eq!(r.json()["role"], "owner");
        let r = post(
            &s,
            &ada,
            "/organization/update-member-role",
            json!({"memberId": ada_mid, "role": "admin"}),
        )
        .await;
        assert_eq!(r.json()["role"], "admin");

        // Remove by email (also drops team memberships), then leave.
        let r = post(
            &s,
            &bea,
            "/organization/remove-member",
            json!({"memberIdOrEmail": "CAL@example.com"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["member"]["id"], cal_mid.as_str());
        let r = get(&s, &cal, "/organization/get-active-member").await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &bea,
            "/organization/remove-member",
            json!({"memberIdOrEmail": cal_mid}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/leave",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["user"]["email"], "ada@example.com");
        assert_eq!(
            session_of(&s, &ada).await["activeOrganizationId"],
            Value::Null
        );
        let r = post(
            &s,
            &ada,
            "/organization/leave",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = get(&s, &bea, "/organization/list-members").await;
        assert_eq!(r.json()["total"], 1);
        s.close().await;
    }
}

#[tokio::test]
async fn invitations_follow_their_lifecycle() {
    for s in servers().await {
        let ada = verified(&s, "ada@example.com", "Ada").await;
        let org = create_org(&s, &ada, "Acme", "acme").await;
        let org_id = org["id"].as_str().expect("id").to_string();

        // Input errors.
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "not-an-email", "role": "member"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "INVALID_EMAIL"));
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "x@example.com"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "x@example.com", "role": "boss"}),
        )
        .await;
        assert_eq!(
            (r.status, r.json()),
            (400, json!({"message": "ROLE_NOT_FOUND: boss"}))
        );
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "ada@example.com", "role": "member"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION")
        );
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "x@example.com", "role": "member", "teamId": "a,b"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "INVALID_TEAM_ID"));
        let r = post(&s, &ada, "/organization/invite-member", json!({"email": "x@example.com", "role": "member", "teamId": "shared_team__00000000-0000-7000-8000-000000000000"})).await;
        assert_eq!(code(&r), err(400, "TEAM_NOT_FOUND"));
        assert!(
            s.mailer.sent_to("x@example.com").is_empty(),
            "nothing sent on failures"
        );

        // Invite: the JSON shape and the email.
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "Bea@Example.com", "role": ["member"]}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let inv = r.json();
        let inv_id = inv["id"].as_str().expect("id").to_string();
        assert_eq!(inv["email"], "bea@example.com");
        assert_eq!(inv["role"], "member");
        assert_eq!(inv["status"], "pending");
        assert_eq!(inv["organizationId"], org_id.as_str());
        assert_eq!(inv["inviterId"], ada.id.as_str());
        assert_eq!(inv["teamId"], Value::Null);
        let sent = s.mailer.sent_to("bea@example.com");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].variable("organizationName"), Some(&json!("Acme")));
        assert_eq!(
            sent[0].variable("inviterEmail"),
            Some(&json!("ada@example.com"))
        );
        assert_eq!(
            sent[0].variable("url"),
            Some(&json!(format!("{}/accept-invitation/{inv_id}", s.origin)))
        );

        // resend refreshes the expiry and sends again.
        s.advance(Duration::from_secs(3600));
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "bea@example.com", "role": "member", "resend": true}),
        )
        .await;
        assert_eq!(r.json()["id"], inv_id.as_str());
        assert!(r.json()["expiresAt"].as_str() > inv["expiresAt"].as_str());
        assert_eq!(s.mailer.sent_to("bea@example.com").len(), 2);

        // The invitee's views: recipient and verification checks.
        let eve = verified(&s, "eve@example.com", "Eve").await;
        let r = get(
            &s,
            &eve,
            &format!("/organization/get-invitation?id={inv_id}"),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
        );
        let r = post(
            &s,
            &eve,
            "/organization/accept-invitation",
            json!({"invitationId": inv_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
        );
        let bea = user(&s, "bea@example.com", "Bea").await;
        let r = get(&s, &bea, "/organization/list-user-invitations").await;
        assert_eq!(
            code(&r),
            err(403, "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION")
        );
        let r = post(
            &s,
            &bea,
            "/organization/accept-invitation",
            json!({"invitationId": inv_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(
                403,
                "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION"
            )
        );
        let link = s
            .mailer
            .sent_to("bea@example.com")
            .into_iter()
            .find(|m| m.email.template_name() == Some("verify-email"))
            .expect("verification")
            .links()[0]
            .clone();
        s.http.get(&link).send().await.expect("verify");
        let r = get(&s, &bea, "/organization/list-user-invitations").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()[0]["id"], inv_id.as_str());
        assert_eq!(r.json()[0]["organizationName"], "Acme");
        let r = get(
            &s,
            &bea,
            "/organization/list-user-invitations?email=x@example.com",
        )
        .await;
        assert_eq!(
            (r.status, r.json()),
            (
                400,
                json!({"message": "User email cannot be passed for client side API calls."})
            )
        );
        let r = s.get("/organization/list-user-invitations", &[]).await;
        assert_eq!(
            (r.status, r.json()),
            (
                400,
                json!({"message": "Missing session headers, or email query parameter."})
            )
        );
        let r = get(
            &s,
            &bea,
            &format!("/organization/get-invitation?id={inv_id}"),
        )
        .await;
        assert_eq!(r.json()["organizationSlug"], "acme");
        assert_eq!(r.json()["inviterEmail"], "ada@example.com");
        let r = s
            .get(&format!("/organization/get-invitation?id={inv_id}"), &[])
            .await;
        assert_eq!(
            (r.status, r.json()),
            (401, json!({"message": "Not authenticated"}))
        );

        // Listing needs invitation rights; a plain member is refused.
        let r = get(&s, &ada, "/organization/list-invitations").await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(1));
        let r = get(
            &s,
            &eve,
            &format!("/organization/list-invitations?organizationId={org_id}"),
        )
        .await;
        assert_eq!(
            (r.status, r.json()),
            (
                403,
                json!({"message": "You are not a member of this organization"})
            )
        );

        // Accept: member with the invitation's role, status accepted; then not usable again.
        let r = post(
            &s,
            &bea,
            "/organization/accept-invitation",
            json!({"invitationId": inv_id}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["invitation"]["status"], "accepted");
        assert_eq!(r.json()["member"]["role"], "member");
        assert_eq!(r.json()["member"]["userId"], bea.id.as_str());
        let r = post(
            &s,
            &bea,
            "/organization/accept-invitation",
            json!({"invitationId": inv_id}),
        )
        .await;
        assert_eq!(code(&r), err(400, "INVITATION_NOT_FOUND"));
        let r = get(&s, &bea, "/organization/list-invitations").await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS")
        );

        // A member may not cancel; owner-role invitations only from owners.
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "cal@example.com", "role": "admin"}),
        )
        .await;
        let cal_inv = r.json()["id"].as_str().expect("id").to_string();
        let r = post(
            &s,
            &bea,
            "/organization/cancel-invitation",
            json!({"invitationId": cal_inv}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION")
        );
        let r = post(
            &s,
            &eve,
            "/organization/cancel-invitation",
            json!({"invitationId": cal_inv}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/cancel-invitation",
            json!({"invitationId": cal_inv}),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["status"].clone()),
            (200, json!("canceled"))
        );
        let r = post(
            &s,
            &ada,
            "/organization/cancel-invitation",
            json!({"invitationId": "iam_invitation__nope"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "INVITATION_NOT_FOUND"));

        // Re-inviting cancels the pending invitation (slices.md §2.2 default).
        let first = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "dan@example.com", "role": "member"}),
        )
        .await
        .json();
        let second = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "dan@example.com", "role": "admin"}),
        )
        .await
        .json();
        assert_ne!(first["id"], second["id"]);
        let all = get(&s, &ada, "/organization/list-invitations").await.json();
        let status_of = |id: &Value| {
            all.as_array()
                .expect("list")
                .iter()
                .find(|i| &i["id"] == id)
                .map(|i| i["status"].clone())
        };
        assert_eq!(status_of(&first["id"]), Some(json!("canceled")));
        assert_eq!(status_of(&second["id"]), Some(json!("pending")));

        // Reject.
        let dan = verified(&s, "dan@example.com", "Dan").await;
        let r = post(
            &s,
            &dan,
            "/organization/reject-invitation",
            json!({"invitationId": second["id"]}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["invitation"]["status"], "rejected");
        assert_eq!(r.json()["member"], Value::Null);
        let r = post(
            &s,
            &dan,
            "/organization/reject-invitation",
            json!({"invitationId": second["id"]}),
        )
        .await;
        assert_eq!(
            (r.status, r.json()),
            (
                400,
                json!({"message": "Invitation not found!", "code": "INVITATION_NOT_FOUND"})
            )
        );

        // Expiry: 48 h.
        let fay = verified(&s, "fay@example.com", "Fay").await;
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": fay.email, "role": "member"}),
        )
        .await;
        let fay_inv = r.json()["id"].as_str().expect("id").to_string();
        s.advance(Duration::from_secs(48 * 3600 + 1));
        let r = post(
            &s,
            &fay,
            "/organization/accept-invitation",
            json!({"invitationId": fay_inv}),
        )
        .await;
        assert_eq!(code(&r), err(400, "INVITATION_NOT_FOUND"));
        let r = get(
            &s,
            &fay,
            &format!("/organization/get-invitation?id={fay_inv}"),
        )
        .await;
        assert_eq!(code(&r), err(400, "INVITATION_NOT_FOUND"));
        let r = get(&s, &fay, "/organization/list-user-invitations").await;
        assert_eq!(r.json(), json!([]));
        // An expired leftover does not block a new invitation.
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": fay.email, "role": "member"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        s.close().await;
    }
}

#[tokio::test]
async fn invitation_rules_follow_the_configuration() {
    let configured = servers_with(|c| {
        c.organization.cancel_pending_invitations_on_reinvite = false;
        c.organization.require_email_verification_on_invitation = false;
        c.organization.invitation_limit = 2;
        c.organization.membership_limit = 2;
    })
    .await;
    for s in configured {
        let ada = user(&s, "ada@example.com", "Ada").await;
        create_org(&s, &ada, "Acme", "acme").await;
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "bea@example.com", "role": "member"}),
        )
        .await;
        let bea_inv = r.json()["id"].as_str().expect("id").to_string();
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "bea@example.com", "role": "member"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION")
        );
        post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "cal@example.com", "role": "member"}),
        )
        .await;
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "dan@example.com", "role": "member"}),
        )
        .await;
        assert_eq!(code(&r), err(403, "INVITATION_LIMIT_REACHED"));
        assert!(s.mailer.sent_to("dan@example.com").is_empty());
        // No verification needed here; the membership limit (2) stops the third member.
        let bea = user(&s, "bea@example.com", "Bea").await;
        let r = post(
            &s,
            &bea,
            "/organization/accept-invitation",
            json!({"invitationId": bea_inv}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let cal = user(&s, "cal@example.com", "Cal").await;
        let cal_inv = invitation_id_from_mail(&s, "cal@example.com");
        let r = post(
            &s,
            &cal,
            "/organization/accept-invitation",
            json!({"invitationId": cal_inv}),
        )
        .await;
        assert_eq!(code(&r), err(403, "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED"));
        // Nothing was written: the invitation is still pending and Cal is no member.
        let r = get(&s, &cal, "/organization/list-user-invitations").await;
        assert_eq!(
            code(&r),
            err(403, "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION"),
            "listing still needs a verified email"
        );
        let all = get(&s, &ada, "/organization/list-invitations").await.json();
        let cal_row = all
            .as_array()
            .expect("list")
            .iter()
            .find(|i| i["id"] == cal_inv.as_str())
            .cloned()
            .expect("row");
        assert_eq!(cal_row["status"], "pending");
        assert_eq!(
            get(&s, &ada, "/organization/list-members").await.json()["total"],
            2
        );
        s.close().await;
    }
}

#[tokio::test]
async fn teams_are_managed_by_admins_and_joined_by_members() {
    for s in servers_with(|c| c.organization.team_limit = 3).await {
        let ada = verified(&s, "ada@example.com", "Ada").await;
        let bea = verified(&s, "bea@example.com", "Bea").await;
        let org = create_org(&s, &ada, "Acme", "acme").await;
        let org_id = org["id"].as_str().expect("id").to_string();
        join(&s, &ada, &bea, &org_id, "member").await;
        let default_team = session_of(&s, &ada).await["activeTeamId"]
            .as_str()
            .expect("team")
            .to_string();

        // Create (validation, rights, duplicates, limit).
        let r = s
            .post("/organization/create-team", json!({"name": "Ops"}), &[])
            .await;
        assert_eq!((r.status, r.text.as_str()), (401, ""));
        let r = post(&s, &ada, "/organization/create-team", json!({"name": ""})).await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        let r = post(
            &s,
            &bea,
            "/organization/create-team",
            json!({"name": "Ops"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(
                403,
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION"
            )
        );
        let r = post(
            &s,
            &ada,
            "/organization/create-team",
            json!({"name": "Ops"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ops = r.json();
        let ops_id = ops["id"].as_str().expect("id").to_string();
        assert_eq!(ops["organizationId"], org_id.as_str());
        assert_eq!(ops["name"], "Ops");
        let r = post(
            &s,
            &ada,
            "/organization/create-team",
            json!({"name": "Ops"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_ALREADY_EXISTS"));
        post(
            &s,
            &ada,
            "/organization/create-team",
            json!({"name": "Dev"}),
        )
        .await;
        let r = post(&s, &ada, "/organization/create-team", json!({"name": "QA"})).await;
        assert_eq!(
            code(&r),
            err(400, "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS")
        );
        let r = get(&s, &bea, "/organization/list-teams").await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(3));

        // Update.
        let r = post(
            &s,
            &bea,
            "/organization/update-team",
            json!({"teamId": ops_id, "data": {"name": "X"}}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM")
        );
        let r = post(
            &s,
            &ada,
            "/organization/update-team",
            json!({"teamId": ops_id, "data": {"name": "Operations"}}),
        )
        .await;
        assert_eq!(r.json()["name"], "Operations");
        let r = post(
            &s,
            &ada,
            "/organization/update-team",
            json!({"teamId": "shared_team__nope", "data": {"name": "Y"}}),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_NOT_FOUND"));

        // Team members.
        let r = post(
            &s,
            &bea,
            "/organization/add-team-member",
            json!({"teamId": ops_id, "userId": bea.id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER")
        );
        let eve = user(&s, "eve@example.com", "Eve").await;
        let r = post(
            &s,
            &ada,
            "/organization/add-team-member",
            json!({"teamId": ops_id, "userId": eve.id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );
        let r = post(
            &s,
            &ada,
            "/organization/add-team-member",
            json!({"teamId": ops_id, "userId": bea.id}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let tm = r.json();
        assert_eq!(
            (tm["teamId"].clone(), tm["userId"].clone()),
            (json!(ops_id), json!(bea.id))
        );
        let again = post(
            &s,
            &ada,
            "/organization/add-team-member",
            json!({"teamId": ops_id, "userId": bea.id}),
        )
        .await;
        assert_eq!(again.json()["id"], tm["id"], "idempotent");

        // Active team, list-team-members, list-user-teams.
        let r = get(&s, &bea, "/organization/list-team-members").await;
        assert_eq!(code(&r), err(400, "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM"));
        let r = post(
            &s,
            &bea,
            "/organization/set-active-team",
            json!({"teamId": default_team}),
        )
        .await;
        assert_eq!(code(&r), err(403, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM"));
        let r = post(
            &s,
            &bea,
            "/organization/set-active-team",
            json!({"teamId": ops_id}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.set_cookie("better-auth.session_token").is_some());
        assert_eq!(session_of(&s, &bea).await["activeTeamId"], ops_id.as_str());
        let r = get(&s, &bea, "/organization/list-team-members").await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(1));
        assert_eq!(r.json()[0]["userId"], bea.id.as_str());
        let r = get(
            &s,
            &bea,
            &format!("/organization/list-team-members?teamId={default_team}"),
        )
        .await;
        assert_eq!(code(&r), err(400, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM"));
        let r = get(&s, &bea, "/organization/list-user-teams").await;
        assert_eq!(r.json()[0]["id"], ops_id.as_str());
        let r = get(
            &s,
            &bea,
            &format!("/organization/list-user-teams?userId={}", ada.id),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
        );
        let r = get(
            &s,
            &ada,
            &format!("/organization/list-user-teams?userId={}", bea.id),
        )
        .await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(1));
        // Without an organization: one's own teams in every organization.
        create_org(&s, &bea, "Bea's Club", "beas-club").await;
        let r = get(&s, &bea, "/organization/list-user-teams").await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(2), "{}", r.text);
        let r = get(
            &s,
            &bea,
            &format!("/organization/list-user-teams?organizationId={org_id}"),
        )
        .await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(1));
        let r = post(
            &s,
            &bea,
            "/organization/set-active",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(r.status, 200);
        let r = post(
            &s,
            &bea,
            "/organization/set-active-team",
            json!({"teamId": null}),
        )
        .await;
        assert_eq!((r.status, r.json()), (200, Value::Null));

        // Remove a team member; remove teams (not the active one, not the last).
        let r = post(
            &s,
            &bea,
            "/organization/remove-team-member",
            json!({"teamId": ops_id, "userId": bea.id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER")
        );
        let r = post(
            &s,
            &ada,
            "/organization/remove-team-member",
            json!({"teamId": ops_id, "userId": bea.id}),
        )
        .await;
        assert_eq!(
            r.json(),
            json!({"message": "Team member removed successfully."})
        );
        let r = post(
            &s,
            &ada,
            "/organization/remove-team-member",
            json!({"teamId": ops_id, "userId": bea.id}),
        )
        .await;
        assert_eq!(code(&r), err(400, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM"));
        let r = post(
            &s,
            &ada,
            "/organization/remove-team",
            json!({"teamId": default_team}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM"),
            "the caller's active team"
        );
        let r = post(
            &s,
            &bea,
            "/organization/remove-team",
            json!({"teamId": ops_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(
                403,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION"
            )
        );
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": "gil@example.com", "role": "member", "teamId": ops_id}),
        )
        .await;
        assert_eq!(r.json()["teamId"], ops_id.as_str());
        let r = post(
            &s,
            &ada,
            "/organization/remove-team",
            json!({"teamId": ops_id}),
        )
        .await;
        assert_eq!(r.json(), json!({"message": "Team removed successfully."}));
        let pending = get(&s, &ada, "/organization/list-invitations").await.json();
        let gil = pending
            .as_array()
            .expect("list")
            .iter()
            .find(|i| i["email"] == "gil@example.com")
            .cloned()
            .expect("gil");
        assert_eq!(
            gil["teamId"],
            Value::Null,
            "the team is stripped from pending invitations"
        );
        let teams = get(&s, &ada, "/organization/list-teams").await.json();
        let dev = teams
            .as_array()
            .expect("teams")
            .iter()
            .find(|t| t["name"] == "Dev")
            .cloned()
            .expect("dev");
        post(
            &s,
            &ada,
            "/organization/remove-team",
            json!({"teamId": dev["id"]}),
        )
        .await;
        post(
            &s,
            &ada,
            "/organization/set-active-team",
            json!({"teamId": null}),
        )
        .await;
        let r = post(
            &s,
            &ada,
            "/organization/remove-team",
            json!({"teamId": default_team}),
        )
        .await;
        assert_eq!(code(&r), err(400, "UNABLE_TO_REMOVE_LAST_TEAM"));

        // An invitation naming a team puts the invitee in it and makes it active.
        let hal = verified(&s, "hal@example.com", "Hal").await;
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"email": hal.email, "role": "member", "teamId": [default_team]}),
        )
        .await;
        let id = r.json()["id"].as_str().expect("id").to_string();
        let r = post(
            &s,
            &hal,
            "/organization/accept-invitation",
            json!({"invitationId": id}),
        )
        .await;
        assert!(
            r.set_cookie("better-auth.session_token").is_some(),
            "cookie re-sent"
        );
        assert_eq!(
            session_of(&s, &hal).await["activeTeamId"],
            default_team.as_str()
        );
        s.close().await;
    }
}

#[tokio::test]
async fn another_tenants_ids_are_never_readable_or_writable() {
    for s in servers().await {
        let ada = verified(&s, "ada@example.com", "Ada").await;
        let zed = verified(&s, "zed@example.com", "Zed").await;
        let ours = create_org(&s, &ada, "Ours", "ours").await;
        let theirs = create_org(&s, &zed, "Theirs", "theirs").await;
        let ours_id = ours["id"].as_str().expect("id").to_string();
        let theirs_id = theirs["id"].as_str().expect("id").to_string();
        let their_member = theirs["members"][0]["id"].as_str().expect("id").to_string();
        let their_team = session_of(&s, &zed).await["activeTeamId"]
            .as_str()
            .expect("team")
            .to_string();
        let their_inv = post(
            &s,
            &zed,
            "/organization/invite-member",
            json!({"email": "x@example.com", "role": "member"}),
        )
        .await
        .json()["id"]
            .as_str()
            .expect("id")
            .to_string();

        let q = format!("organizationId={theirs_id}");
        for path in [
            format!("/organization/get-organization?{q}"),
            format!("/organization/get-full-organization?{q}"),
        ] {
            let r = get(&s, &ada, &path).await;
            assert_eq!(
                code(&r),
                err(403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"),
                "{path}"
            );
        }
        post(
            &s,
            &ada,
            "/organization/set-active",
            json!({"organizationId": ours_id}),
        )
        .await;
        let r = get(&s, &ada, &format!("/organization/list-members?{q}")).await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
        );
        let r = get(&s, &ada, &format!("/organization/list-teams?{q}")).await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION")
        );
        let r = get(&s, &ada, &format!("/organization/list-invitations?{q}")).await;
        assert_eq!(r.status, 403);
        let r = post(
            &s,
            &ada,
            "/organization/update",
            json!({"organizationId": theirs_id, "data": {"name": "Pwned"}}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );
        let r = post(
            &s,
            &ada,
            "/organization/delete",
            json!({"organizationId": theirs_id}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        );
        // Their ids used inside our organization read as missing.
        let r = post(
            &s,
            &ada,
            "/organization/update-member-role",
            json!({"memberId": their_member, "role": "member"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/remove-member",
            json!({"memberIdOrEmail": their_member}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/remove-member",
            json!({"memberIdOrEmail": "zed@example.com"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/add-team-member",
            json!({"teamId": their_team, "userId": ada.id}),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/update-team",
            json!({"teamId": their_team, "data": {"name": "Pwned"}}),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/remove-team",
            json!({"teamId": their_team}),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/set-active-team",
            json!({"teamId": their_team}),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_NOT_FOUND"));
        let r = get(
            &s,
            &ada,
            &format!("/organization/list-team-members?teamId={their_team}"),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/cancel-invitation",
            json!({"invitationId": their_inv}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/leave",
            json!({"organizationId": theirs_id}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));
        let r = post(
            &s,
            &ada,
            "/organization/invite-member",
            json!({"organizationId": theirs_id, "email": "y@example.com", "role": "member"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "MEMBER_NOT_FOUND"));

        // Their organization is untouched.
        let mine = get(&s, &zed, "/organization/get-full-organization")
            .await
            .json();
        assert_eq!(mine["name"], "Theirs");
        assert_eq!(mine["members"].as_array().map(Vec::len), Some(1));
        assert_eq!(mine["members"][0]["role"], "owner");
        assert_eq!(mine["teams"][0]["name"], "Theirs");
        assert_eq!(mine["invitations"][0]["status"], "pending");
        s.close().await;
    }
}

#[tokio::test]
async fn refused_requests_write_nothing() {
    for s in servers_with(|c| {
        c.organization.organization_limit = 2;
        c.organization.allow_user_to_create_organization = true;
    })
    .await
    {
        let ada = user(&s, "ada@example.com", "Ada").await;
        let org = create_org(&s, &ada, "Acme", "acme").await;
        let org_id = org["id"].as_str().expect("id").to_string();
        let before = get(&s, &ada, "/organization/list").await.json();
        let r = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "Dup", "slug": "acme"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "ORGANIZATION_ALREADY_EXISTS"));
        assert_eq!(get(&s, &ada, "/organization/list").await.json(), before);
        create_org(&s, &ada, "Two", "two").await;
        let before = get(&s, &ada, "/organization/list").await.json();
        let r = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "Three", "slug": "three"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS")
        );
        assert_eq!(get(&s, &ada, "/organization/list").await.json(), before);
        let r = post(
            &s,
            &ada,
            "/organization/set-active",
            json!({"organizationId": org_id}),
        )
        .await;
        assert_eq!(r.status, 200);
        let teams_before = sqlx_count(&s, "shared_team", &org_id).await;
        let r = post(
            &s,
            &ada,
            "/organization/create-team",
            json!({"name": "Acme"}),
        )
        .await;
        assert_eq!(code(&r), err(400, "TEAM_ALREADY_EXISTS"));
        assert_eq!(sqlx_count(&s, "shared_team", &org_id).await, teams_before);
        let r = post(
            &s,
            &ada,
            "/organization/update",
            json!({"data": {"name": ""}}),
        )
        .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        let r = post(
            &s,
            &ada,
            "/organization/update",
            json!({"data": {"name": "Ok", "slug": "Bad Slug"}}),
        )
        .await;
        assert_eq!(code(&r), err(400, "VALIDATION_ERROR"));
        assert_eq!(
            get(&s, &ada, "/organization/get-organization").await.json()["name"],
            "Acme"
        );
        let r = s
            .post_raw("/organization/invite-member", Some("text/plain"), "hi")
            .await;
        assert_eq!(r.status, 415);
        let invitations = sqlx_count(&s, "iam_invitation", &org_id).await;
        assert_eq!(invitations.0, 0);
        s.close().await;
    }
    for s in servers_with(|c| c.organization.allow_user_to_create_organization = false).await {
        let ada = user(&s, "ada@example.com", "Ada").await;
        let r = post(
            &s,
            &ada,
            "/organization/create",
            json!({"name": "No", "slug": "no"}),
        )
        .await;
        assert_eq!(
            code(&r),
            err(403, "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION")
        );
        s.close().await;
    }
}

#[tokio::test]
async fn the_role_list_constraint_holds_in_the_database() {
    for s in servers().await {
        let ada = user(&s, "ada@example.com", "Ada").await;
        let org = create_org(&s, &ada, "Acme", "acme").await;
        let org_id = org["id"].as_str().expect("id");
        let mut pooled = s.test.db.acquire().await.expect("conn");
        for (role, ok) in [
            ("admin,member", true),
            ("owner,admin,member", true),
            ("boss", false),
            ("admin,admin", false),
            ("", false),
        ] {
            let mut sql = shared_server::db::repo::Sql::new("UPDATE iam_member SET role = ");
            sql.push_bind(role)
                .push(" WHERE organization_id = ")
                .push_bind(org_id);
            let result = sql.execute(&mut pooled.conn()).await;
            assert_eq!(result.is_ok(), ok, "role `{role}`: {result:?}");
        }
        s.close().await;
    }
}

#[tokio::test]
async fn concurrent_demotions_never_leave_an_organization_without_an_owner() {
    for s in servers().await {
        let ada = verified(&s, "ada@example.com", "Ada").await;
        let bea = verified(&s, "bea@example.com", "Bea").await;
        let org = create_org(&s, &ada, "Acme", "acme").await;
        let org_id = org["id"].as_str().expect("id").to_string();
        let ada_mid = org["members"][0]["id"].as_str().expect("id").to_string();
        let bea_mid = join(&s, &ada, &bea, &org_id, "owner").await["id"]
            .as_str()
            .expect("id")
            .to_string();
        // Both owners step down at the same moment: one may, the other must not.
        let (a, b) = tokio::join!(
            post(
                &s,
                &ada,
                "/organization/update-member-role",
                json!({"memberId": ada_mid, "role": "admin"}),
            ),
            post(
                &s,
                &bea,
                "/organization/update-member-role",
                json!({"memberId": bea_mid, "role": "admin"}),
            ),
        );
        let ok = [&a, &b].iter().filter(|r| r.status == 200).count();
        assert_eq!(ok, 1, "exactly one demotion: {} / {}", a.text, b.text);
        let refused = if a.status == 200 { &b } else { &a };
        assert_eq!(
            code(refused),
            err(400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER")
        );
        let members = get(&s, &ada, "/organization/list-members").await.json();
        let owners = members["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter(|m| m["role"] == "owner")
            .count();
        assert_eq!(owners, 1);
        s.close().await;
    }
}
