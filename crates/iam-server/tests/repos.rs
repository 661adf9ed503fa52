//! The IAM repositories against real databases: every test runs on every backend of
//! `shared_server::testing::all_backends()` (SQLite always, PostgreSQL when `TEST_POSTGRES_URL`
//! is set), with a frozen clock.

use std::sync::Arc;
use std::time::Duration;

use iam_server::entities::*;
use iam_server::repos::{AccountRepo, MemberRepo, VerificationRepo};
use iam_server::IAM_MIGRATIONS;
use shared_server::db::migrate;
use shared_server::db::RepoError;
use shared_server::entities::{NewOrganization, NewUser, Organization, User, UserId};
use shared_server::migrations::SHARED_MIGRATIONS;
use shared_server::repos::{OrganizationRepo, UserRepo};
use shared_server::testing::{all_backends, TestDb};
use shared_server::{Clock, FixedClock};

const T0: &str = "2026-03-01T08:00:00.000Z";

struct Fixture {
    test: TestDb,
    clock: Arc<FixedClock>,
    users: UserRepo,
    orgs: OrganizationRepo,
    accounts: AccountRepo,
    verifications: VerificationRepo,
    members: MemberRepo,
}

impl Fixture {
    async fn user(&self, email: &str) -> User {
        self.users
            .insert(&self.test.db, NewUser::new("Someone", email), "system")
            .await
            .expect("insert user")
    }

    async fn org(&self, slug: &str, owner: &User, personal: bool) -> Organization {
        let new = NewOrganization {
            is_personal: personal,
            ..NewOrganization::new(slug, slug, owner.id.clone())
        };
        self.orgs
            .insert(&self.test.db, new, "system")
            .await
            .expect("insert org")
    }
}

async fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for test in all_backends().await {
        migrate::run(&test.db, &[&SHARED_MIGRATIONS, &IAM_MIGRATIONS])
            .await
            .expect("migrate");
        let clock = Arc::new(FixedClock::new(T0.parse().expect("timestamp")));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        out.push(Fixture {
            users: UserRepo::new(test.db.clone(), dyn_clock.clone()),
            orgs: OrganizationRepo::new(test.db.clone(), dyn_clock.clone()),
            accounts: AccountRepo::new(test.db.clone(), dyn_clock.clone()),
            verifications: VerificationRepo::new(test.db.clone(), dyn_clock.clone()),
            members: MemberRepo::new(test.db.clone(), dyn_clock),
            clock,
            test,
        });
    }
    out
}

#[tokio::test]
async fn migrations_create_every_iam_table_and_are_idempotent() {
    for f in fixtures().await {
        let report = migrate::run(&f.test.db, &[&SHARED_MIGRATIONS, &IAM_MIGRATIONS])
            .await
            .expect("second run");
        assert!(report.applied.is_empty(), "{:?}", report.applied);
        let mut pooled = f.test.db.acquire().await.expect("conn");
        for table in [
            "iam_account",
            "iam_verification",
            "iam_member",
            "iam_invitation",
            "iam_team_member",
            "iam_organization_role",
            "iam_apikey",
            "iam_rate_limit",
        ] {
            let sql = shared_server::db::repo::Sql::new(format!("SELECT COUNT(*) FROM {table}"));
            let (n,): (i64,) = sql
                .fetch_one(&mut pooled.conn())
                .await
                .unwrap_or_else(|e| panic!("{table} on {:?}: {e}", f.test.backend()));
            assert_eq!(n, 0, "{table}");
        }
    }
}

#[tokio::test]
async fn credential_accounts_store_and_replace_the_password_hash() {
    for f in fixtures().await {
        let user = f.user("ada@example.com").await;
        assert!(f
            .accounts
            .find_credential(&f.test.db, &user.id)
            .await
            .unwrap()
            .is_none());

        let created = f
            .accounts
            .set_password(&f.test.db, &user.id, "hash-1".into(), user.id.as_str())
            .await
            .unwrap();
        assert_eq!(created.provider_id, CREDENTIAL_PROVIDER);
        assert_eq!(created.account_id, user.id.as_str());
        assert_eq!(created.password.as_deref(), Some("hash-1"));

        f.clock.advance(Duration::from_secs(5));
        let updated = f
            .accounts
            .set_password(&f.test.db, &user.id, "hash-2".into(), user.id.as_str())
            .await
            .unwrap();
        assert_eq!(updated.id, created.id, "the same account is updated");
        assert_eq!(updated.audit.version, 2);
        assert_eq!(updated.password.as_deref(), Some("hash-2"));
        assert!(updated.audit.updated_at > created.audit.updated_at);

        let by_provider = f
            .accounts
            .find_by_provider(&f.test.db, CREDENTIAL_PROVIDER, user.id.as_str())
            .await
            .unwrap()
            .expect("found by provider");
        assert_eq!(by_provider.id, created.id);
        assert_eq!(
            f.accounts
                .list_by_user(&f.test.db, &user.id)
                .await
                .unwrap()
                .len(),
            1
        );

        // One account per (provider, provider account).
        let duplicate = f
            .accounts
            .insert(
                &f.test.db,
                NewAccount::credential(&user.id, "x".into()),
                "system",
            )
            .await;
        assert!(
            matches!(&duplicate, Err(RepoError::Conflict { constraint }) if constraint == "iam_account_provider_id_account_id_uq"),
            "{:?}: {duplicate:?}",
            f.test.backend()
        );
    }
}

#[tokio::test]
async fn accounts_disappear_with_their_user() {
    for f in fixtures().await {
        let user = f.user("gone@example.com").await;
        f.accounts
            .set_password(&f.test.db, &user.id, "h".into(), "system")
            .await
            .unwrap();
        f.users.hard_delete(&f.test.db, &user.id).await.unwrap();
        assert!(f
            .accounts
            .list_by_user(&f.test.db, &user.id)
            .await
            .unwrap()
            .is_empty());
        // An account for a user that does not exist is refused.
        let orphan = f
            .accounts
            .insert(
                &f.test.db,
                NewAccount::credential(&UserId::new(), "h".into()),
                "system",
            )
            .await;
        assert!(
            matches!(orphan, Err(RepoError::ForeignKey { .. })),
            "{orphan:?}"
        );
    }
}

#[tokio::test]
async fn verifications_are_found_until_they_expire_and_consumed_once() {
    for f in fixtures().await {
        let now = f.clock.now();
        f.verifications
            .insert(
                &f.test.db,
                NewVerification {
                    identifier: "reset-password:abc".into(),
                    value: "user-1".into(),
                    expires_at: now.plus(Duration::from_secs(3600)),
                },
                "system",
            )
            .await
            .unwrap();
        let found = f
            .verifications
            .find_valid(&f.test.db, "reset-password:abc", None, now)
            .await
            .unwrap()
            .expect("valid");
        assert_eq!(found.value, "user-1");
        assert!(f
            .verifications
            .find_valid(&f.test.db, "reset-password:abc", Some("user-2"), now)
            .await
            .unwrap()
            .is_none());
        assert!(f
            .verifications
            .find_valid(
                &f.test.db,
                "reset-password:abc",
                None,
                now.plus(Duration::from_secs(3600))
            )
            .await
            .unwrap()
            .is_none());

        let consumed = f
            .verifications
            .consume(&f.test.db, "reset-password:abc", now)
            .await
            .unwrap();
        assert_eq!(consumed.map(|v| v.value).as_deref(), Some("user-1"));
        assert!(
            f.verifications
                .consume(&f.test.db, "reset-password:abc", now)
                .await
                .unwrap()
                .is_none(),
            "a token is single-use"
        );

        // An expired row is deleted by consume but not returned.
        f.verifications
            .insert(
                &f.test.db,
                NewVerification {
                    identifier: "reset-password:old".into(),
                    value: "user-1".into(),
                    expires_at: now.plus(Duration::from_secs(10)),
                },
                "system",
            )
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(11));
        let later = f.clock.now();
        assert!(f
            .verifications
            .consume(&f.test.db, "reset-password:old", later)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            f.verifications
                .delete_by_identifier(&f.test.db, "reset-password:old")
                .await
                .unwrap(),
            0
        );

        // Housekeeping removes exactly the expired rows.
        for (name, secs) in [("a", 5), ("b", 100)] {
            f.verifications
                .insert(
                    &f.test.db,
                    NewVerification {
                        identifier: format!("x:{name}"),
                        value: "v".into(),
                        expires_at: later.plus(Duration::from_secs(secs)),
                    },
                    "system",
                )
                .await
                .unwrap();
        }
        let removed = f
            .verifications
            .delete_expired(&f.test.db, later.plus(Duration::from_secs(50)))
            .await
            .unwrap();
        assert_eq!(removed, 1);
        assert!(f
            .verifications
            .find_valid(&f.test.db, "x:b", None, later)
            .await
            .unwrap()
            .is_some());
    }
}

#[tokio::test]
async fn memberships_order_personal_first_then_by_join_time() {
    for f in fixtures().await {
        let owner = f.user("owner@example.com").await;
        let user = f.user("member@example.com").await;
        let team_a = f.org("team-a", &owner, false).await;
        let team_b = f.org("team-b", &owner, false).await;
        let personal = f.org("personal", &user, true).await;
        let left = f.org("left", &owner, false).await;
        let t = |secs| f.clock.now().plus(Duration::from_secs(secs));

        // Joined team-b before team-a; the personal org last, yet it comes first.
        f.members
            .insert(
                &f.test.db,
                &team_b.id,
                NewMember::active(user.id.clone(), MemberRole::Member, t(1)),
                "system",
            )
            .await
            .unwrap();
        f.members
            .insert(
                &f.test.db,
                &team_a.id,
                NewMember::active(user.id.clone(), MemberRole::Admin, t(2)),
                "system",
            )
            .await
            .unwrap();
        f.members
            .insert(
                &f.test.db,
                &personal.id,
                NewMember::active(user.id.clone(), MemberRole::Owner, t(3)),
                "system",
            )
            .await
            .unwrap();
        let suspended = NewMember {
            status: MemberStatus::Suspended,
            ..NewMember::active(user.id.clone(), MemberRole::Member, t(0))
        };
        f.members
            .insert(&f.test.db, &left.id, suspended, "system")
            .await
            .unwrap();

        let orgs = f
            .members
            .list_active_for_user_personal_first(&f.test.db, &user.id)
            .await
            .unwrap();
        let slugs: Vec<&str> = orgs.iter().map(|o| o.slug.as_str()).collect();
        assert_eq!(
            slugs,
            ["personal", "team-b", "team-a"],
            "{:?}",
            f.test.backend()
        );

        let found = f
            .members
            .find(&f.test.db, &team_a.id, &user.id)
            .await
            .unwrap()
            .expect("member");
        assert_eq!(found.role, MemberRole::Admin);
        assert!(f
            .members
            .find(&f.test.db, &team_a.id, &owner.id)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            f.members
                .count_active(&f.test.db, &team_a.id)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            f.members.count_active(&f.test.db, &left.id).await.unwrap(),
            0
        );

        // One membership per (organization, user).
        let twice = f
            .members
            .insert(
                &f.test.db,
                &team_a.id,
                NewMember::active(user.id.clone(), MemberRole::Member, t(4)),
                "system",
            )
            .await;
        assert!(
            matches!(&twice, Err(RepoError::Conflict { constraint }) if constraint == "iam_member_organization_id_user_id_uq"),
            "{twice:?}"
        );

        // Tenancy: another organization's membership id is not found.
        let err = f
            .members
            .get(&f.test.db, &team_b.id, &found.id)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");

        // Deleting the organization removes its memberships.
        f.orgs.hard_delete(&f.test.db, &team_a.id).await.unwrap();
        let orgs = f
            .members
            .list_active_for_user_personal_first(&f.test.db, &user.id)
            .await
            .unwrap();
        assert_eq!(orgs.len(), 2);
    }
}

/// Migration 0002 (multi-role members) on a database that already has memberships from 0001:
/// rows, ids, indexes and constraint names survive (SQLite rebuilds the table), and role lists
/// become storable while unknown roles stay refused.
#[tokio::test]
async fn member_role_list_migration_keeps_existing_rows() {
    use shared_server::db::migrate::SliceMigrations;
    const FIRST_ONLY: SliceMigrations = SliceMigrations {
        slice: IAM_MIGRATIONS.slice,
        depends_on: IAM_MIGRATIONS.depends_on,
        migrations: IAM_MIGRATIONS.migrations.split_at(1).0,
    };
    for test in all_backends().await {
        migrate::run(&test.db, &[&SHARED_MIGRATIONS, &FIRST_ONLY])
            .await
            .expect("migrate to 0001");
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(T0.parse().expect("timestamp")));
        let users = UserRepo::new(test.db.clone(), clock.clone());
        let orgs = OrganizationRepo::new(test.db.clone(), clock.clone());
        let members = MemberRepo::new(test.db.clone(), clock.clone());
        let owner = users
            .insert(
                &test.db,
                NewUser::new("Owner", "owner@example.com"),
                "system",
            )
            .await
            .expect("user");
        let org = orgs
            .insert(
                &test.db,
                NewOrganization::new("Acme", "acme", owner.id.clone()),
                "system",
            )
            .await
            .expect("org");
        let before = members
            .insert(
                &test.db,
                &org.id,
                NewMember::active(owner.id.clone(), MemberRole::Owner, clock.now()),
                "system",
            )
            .await
            .expect("member");

        migrate::run(&test.db, &[&SHARED_MIGRATIONS, &IAM_MIGRATIONS])
            .await
            .expect("migrate to 0002");
        let after = members
            .find(&test.db, &org.id, &owner.id)
            .await
            .expect("find")
            .expect("the row survived");
        assert_eq!(after, before);
        let duplicate = members
            .insert(
                &test.db,
                &org.id,
                NewMember::active(owner.id.clone(), MemberRole::Member, clock.now()),
                "system",
            )
            .await;
        assert!(
            matches!(&duplicate, Err(RepoError::Conflict { constraint }) if constraint == "iam_member_organization_id_user_id_uq"),
            "{duplicate:?}"
        );
        let roles: MemberRoles = "admin,member".parse().expect("roles");
        let updated = members
            .update(
                &test.db,
                &org.id,
                &after.id,
                after.audit.version,
                MemberPatch {
                    role: Some(roles.clone()),
                    ..MemberPatch::default()
                },
                "system",
            )
            .await
            .expect("a role list is storable");
        assert_eq!(updated.role, roles);
        let mut sql =
            shared_server::db::repo::Sql::new("UPDATE iam_member SET role = 'boss' WHERE id = ");
        sql.push_bind(after.id.as_str());
        let mut pooled = test.db.acquire().await.expect("conn");
        assert!(
            sql.execute(&mut pooled.conn()).await.is_err(),
            "unknown roles stay refused"
        );
    }
}
