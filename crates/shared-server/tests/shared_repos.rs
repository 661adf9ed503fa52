//! The shared repositories against real databases: every test runs on every backend of
//! `shared_server::testing::all_backends()` (SQLite always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set), with a frozen clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use shared_server::db::migrate;
use shared_server::db::repo::{NoFilter, PageRequest, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use shared_server::db::{Backend, RepoError};
use shared_server::entities::*;
use shared_server::files::ObjectKey;
use shared_server::migrations::SHARED_MIGRATIONS;
use shared_server::repos::*;
use shared_server::testing::{all_backends, TestDb};
use shared_server::{Clock, FixedClock, Timestamp};

const T0: &str = "2026-01-15T10:00:00.123Z";

struct Fixture {
    test: TestDb,
    clock: Arc<FixedClock>,
    users: UserRepo,
    orgs: OrganizationRepo,
    teams: TeamRepo,
    sessions: SessionRepo,
    folders: FolderRepo,
    files: FileRepo,
    uploads: UploadSessionRepo,
}

impl Fixture {
    fn backend(&self) -> Backend {
        self.test.backend()
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by)
    }

    async fn user(&self, email: &str) -> User {
        self.users
            .insert(&self.test.db, NewUser::new("Someone", email), "system")
            .await
            .unwrap()
    }

    async fn org(&self, slug: &str, owner: &User) -> Organization {
        self.orgs
            .insert(
                &self.test.db,
                NewOrganization::new(slug.to_uppercase(), slug, owner.id.clone()),
                owner.id.as_str(),
            )
            .await
            .unwrap()
    }

    async fn file(
        &self,
        org: &Organization,
        owner: &User,
        folder: Option<&FolderId>,
        name: &str,
    ) -> File {
        let id = FileId::new();
        let new = NewFile {
            id: Some(id.clone()),
            key: format!(
                "/dev/tenants/ab/individual/{}/user/{}/document/2026/01/{id}.pdf",
                org.id, owner.id
            )
            .parse()
            .unwrap(),
            url: format!("/v1/shared/files/{id}/content"),
            name: name.to_string(),
            size: 1234,
            mime_type: "application/pdf".into(),
            user_id: owner.id.clone(),
            uploaded_by_user_id: owner.id.clone(),
            folder_id: folder.cloned(),
            metadata: json!({ "extension": "pdf", "size": 1234 }),
            source: Some("api".into()),
        };
        self.files
            .insert(&self.test.db, &org.id, new, owner.id.as_str())
            .await
            .unwrap()
    }
}

async fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for test in all_backends().await {
        migrate::run(&test.db, &[&SHARED_MIGRATIONS]).await.unwrap();
        let clock = Arc::new(FixedClock::new(T0.parse().unwrap()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let db = test.db.clone();
        out.push(Fixture {
            users: UserRepo::new(db.clone(), dyn_clock.clone()),
            orgs: OrganizationRepo::new(db.clone(), dyn_clock.clone()),
            teams: TeamRepo::new(db.clone(), dyn_clock.clone()),
            sessions: SessionRepo::new(db.clone(), dyn_clock.clone()),
            folders: FolderRepo::new(db.clone(), dyn_clock.clone()),
            files: FileRepo::new(db.clone(), dyn_clock.clone()),
            uploads: UploadSessionRepo::new(db, dyn_clock),
            clock,
            test,
        });
    }
    out
}

fn conflict(result: Result<impl std::fmt::Debug, RepoError>) -> String {
    match result {
        Err(RepoError::Conflict { constraint }) => constraint,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

fn signature(n: u8) -> String {
    format!("hmac-sha256={}", format!("{n:02x}").repeat(32))
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn insert_and_get_round_trip_with_millisecond_timestamps() {
    let mut wire_forms = Vec::new();
    for f in fixtures().await {
        let backend = f.backend();
        let ban_expires: Timestamp = "2026-02-01T00:00:00.789Z".parse().unwrap();
        let new = NewUser {
            username: Some("Ada_L".into()),
            ban_expires: Some(ban_expires),
            role: UserRole::Admin,
            email_verified: true,
            source: Some("import".into()),
            ..NewUser::new("Ada Lovelace", "  Ada@Example.COM ")
        };
        let inserted = f.users.insert(&f.test.db, new, "system").await.unwrap();
        assert!(inserted.id.as_str().starts_with("shared_user__"));
        assert_eq!(inserted.email, "ada@example.com", "{backend:?}");
        assert_eq!(inserted.username.as_deref(), Some("ada_l"));
        assert_eq!(inserted.display_username.as_deref(), Some("Ada_L"));
        assert_eq!(inserted.role, UserRole::Admin);
        assert!(inserted.email_verified && !inserted.banned);
        assert_eq!(inserted.upload_limit, DEFAULT_UPLOAD_LIMIT);
        assert_eq!(inserted.audit.created_at.to_rfc3339(), T0, "{backend:?}");
        assert_eq!(inserted.audit.updated_at, f.now());
        assert_eq!(inserted.audit.version, 1);
        assert_eq!(inserted.audit.created_by.as_deref(), Some("system"));
        assert_eq!(inserted.audit.source.as_deref(), Some("import"));
        assert_eq!(inserted.ban_expires, Some(ban_expires));

        let read = f.users.get(&f.test.db, &inserted.id).await.unwrap();
        assert_eq!(read, inserted, "{backend:?}");

        let mut wire = serde_json::to_value(&read).unwrap();
        assert!(wire["_rowId"].is_number(), "{wire}");
        assert_eq!(wire["createdAt"], T0);
        assert_eq!(wire["banExpires"], "2026-02-01T00:00:00.789Z");
        assert_eq!(wire["emailVerified"], true);
        assert_eq!(wire["role"], "admin");
        assert!(
            wire.get("image").is_none(),
            "absent values are omitted: {wire}"
        );
        assert!(wire.get("deletedAt").is_none());
        assert!(wire.get("created_at").is_none());
        let object = wire.as_object_mut().unwrap();
        object.remove("_rowId");
        object.remove("id");
        wire_forms.push(wire);
    }
    // The same row reads back identically on every backend.
    for pair in wire_forms.windows(2) {
        assert_eq!(pair[0], pair[1]);
    }
}

#[tokio::test]
async fn update_bumps_the_version_and_refuses_a_stale_one() {
    for f in fixtures().await {
        let backend = f.backend();
        let user = f.user("grace@example.com").await;
        f.advance(Duration::from_millis(1500));
        let patch = UserPatch {
            name: Some("Grace Hopper".into()),
            image: Some(Some("https://img/g.png".into())),
            ..UserPatch::default()
        };
        let updated = f
            .users
            .update(&f.test.db, &user.id, 1, patch, "admin-1")
            .await
            .unwrap();
        assert_eq!(updated.audit.version, 2, "{backend:?}");
        assert_eq!(updated.name, "Grace Hopper");
        assert_eq!(updated.image.as_deref(), Some("https://img/g.png"));
        assert_eq!(
            updated.email, "grace@example.com",
            "unset fields are not written"
        );
        assert_eq!(updated.audit.created_at, user.audit.created_at);
        assert_eq!(updated.audit.updated_at, f.now());
        assert_ne!(updated.audit.updated_at, user.audit.updated_at);
        assert_eq!(updated.audit.updated_by.as_deref(), Some("admin-1"));

        // Clearing a nullable column.
        let cleared = f
            .users
            .update(
                &f.test.db,
                &user.id,
                2,
                UserPatch {
                    image: Some(None),
                    ..UserPatch::default()
                },
                "admin-1",
            )
            .await
            .unwrap();
        assert_eq!(cleared.image, None);
        assert_eq!(cleared.audit.version, 3);

        let stale = f
            .users
            .update(&f.test.db, &user.id, 1, UserPatch::default(), "admin-1")
            .await;
        match stale {
            Err(RepoError::VersionConflict {
                expected,
                actual,
                entity,
                ..
            }) => {
                assert_eq!((entity, expected, actual), ("User", 1, 3), "{backend:?}");
            }
            other => panic!("{backend:?}: expected VersionConflict, got {other:?}"),
        }
        assert_eq!(
            f.users
                .get(&f.test.db, &user.id)
                .await
                .unwrap()
                .audit
                .version,
            3
        );

        let missing = f
            .users
            .update(&f.test.db, &UserId::new(), 1, UserPatch::default(), "x")
            .await;
        assert!(
            matches!(missing, Err(RepoError::NotFound { entity: "User", .. })),
            "{missing:?}"
        );

        let invalid = f
            .users
            .update(
                &f.test.db,
                &user.id,
                3,
                UserPatch {
                    email: Some("not-an-email".into()),
                    ..UserPatch::default()
                },
                "x",
            )
            .await;
        assert!(
            matches!(invalid, Err(RepoError::Invalid { .. })),
            "{invalid:?}"
        );
        assert_eq!(
            f.users
                .get(&f.test.db, &user.id)
                .await
                .unwrap()
                .audit
                .version,
            3
        );
    }
}

#[tokio::test]
async fn soft_deleted_rows_vanish_from_reads() {
    for f in fixtures().await {
        let backend = f.backend();
        let owner = f.user("owner@example.com").await;
        let org = f.org("acme", &owner).await;
        let team = f
            .teams
            .insert(&f.test.db, &org.id, NewTeam::new("Core", "core"), "u")
            .await
            .unwrap();
        let other = f
            .teams
            .insert(&f.test.db, &org.id, NewTeam::new("Ops", "ops"), "u")
            .await
            .unwrap();
        f.advance(Duration::from_secs(5));

        f.teams
            .soft_delete(&f.test.db, &org.id, &team.id, "deleter")
            .await
            .unwrap();
        assert_eq!(
            f.teams
                .find_by_id(&f.test.db, &org.id, &team.id)
                .await
                .unwrap(),
            None,
            "{backend:?}"
        );
        assert!(f
            .teams
            .get(&f.test.db, &org.id, &team.id)
            .await
            .unwrap_err()
            .is_not_found());
        let page = f
            .teams
            .list(&f.test.db, &org.id, NoFilter, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(
            page.items.iter().map(|t| &t.id).collect::<Vec<_>>(),
            vec![&other.id]
        );
        assert_eq!(
            f.teams.count(&f.test.db, &org.id, NoFilter).await.unwrap(),
            1
        );

        let deleted = f
            .teams
            .find_by_id_with_deleted(&f.test.db, &org.id, &team.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(deleted.audit.deleted_at, Some(f.now()));
        assert_eq!(deleted.audit.deleted_by.as_deref(), Some("deleter"));
        assert_eq!(deleted.audit.updated_at, f.now());
        assert_eq!(deleted.audit.updated_by.as_deref(), Some("deleter"));
        assert_eq!(deleted.audit.version, 2);

        // Deleted rows cannot be deleted again or updated.
        assert!(f
            .teams
            .soft_delete(&f.test.db, &org.id, &team.id, "x")
            .await
            .unwrap_err()
            .is_not_found());
        let update = f
            .teams
            .update(&f.test.db, &org.id, &team.id, 2, TeamPatch::default(), "x")
            .await;
        assert!(update.unwrap_err().is_not_found());

        // Hard delete removes the row; a second one finds nothing.
        f.teams
            .hard_delete(&f.test.db, &org.id, &team.id)
            .await
            .unwrap();
        assert_eq!(
            f.teams
                .find_by_id_with_deleted(&f.test.db, &org.id, &team.id)
                .await
                .unwrap(),
            None
        );
        assert!(f
            .teams
            .hard_delete(&f.test.db, &org.id, &team.id)
            .await
            .unwrap_err()
            .is_not_found());
    }
}

#[tokio::test]
async fn unique_violations_report_the_same_constraint_name_on_every_backend() {
    for f in fixtures().await {
        let backend = f.backend();
        let ada = f.user("ada@example.com").await;
        let dup = f
            .users
            .insert(
                &f.test.db,
                NewUser::new("Other", "ADA@example.com"),
                "system",
            )
            .await;
        assert_eq!(conflict(dup), "shared_user_email_uq", "{backend:?}");

        f.users
            .insert(
                &f.test.db,
                NewUser {
                    username: Some("ada".into()),
                    ..NewUser::new("A", "a1@example.com")
                },
                "s",
            )
            .await
            .unwrap();
        let dup = f
            .users
            .insert(
                &f.test.db,
                NewUser {
                    username: Some("ADA".into()),
                    ..NewUser::new("A", "a2@example.com")
                },
                "s",
            )
            .await;
        assert_eq!(conflict(dup), "shared_user_username_uq", "{backend:?}");

        let org = f.org("acme", &ada).await;
        let dup = f
            .orgs
            .insert(
                &f.test.db,
                NewOrganization::new("Acme 2", "acme", ada.id.clone()),
                "s",
            )
            .await;
        assert_eq!(conflict(dup), "shared_organization_slug_uq", "{backend:?}");

        // One personal organization per owner (a partial unique index).
        let personal = |slug: &str| NewOrganization {
            is_personal: true,
            ..NewOrganization::new("Personal", slug, ada.id.clone())
        };
        f.orgs
            .insert(&f.test.db, personal("ada-personal"), "s")
            .await
            .unwrap();
        let dup = f
            .orgs
            .insert(&f.test.db, personal("ada-personal-2"), "s")
            .await;
        assert_eq!(
            conflict(dup),
            "shared_organization_owner_personal_uq",
            "{backend:?}"
        );

        // Team names are unique per organization only.
        let other_org = f.org("globex", &ada).await;
        f.teams
            .insert(&f.test.db, &org.id, NewTeam::new("Core", "core"), "s")
            .await
            .unwrap();
        f.teams
            .insert(&f.test.db, &other_org.id, NewTeam::new("Core", "core"), "s")
            .await
            .unwrap();
        let dup = f
            .teams
            .insert(&f.test.db, &org.id, NewTeam::new("Core", "core-2"), "s")
            .await;
        assert_eq!(
            conflict(dup),
            "shared_team_organization_id_name_uq",
            "{backend:?}"
        );

        let file = f.file(&org, &ada, None, "a.pdf").await;
        let mut again = NewFile {
            id: None,
            key: file.key.clone(),
            url: file.url.clone(),
            name: "b.pdf".into(),
            size: 1,
            mime_type: "application/pdf".into(),
            user_id: ada.id.clone(),
            uploaded_by_user_id: ada.id.clone(),
            folder_id: None,
            metadata: json!({ "extension": "pdf" }),
            source: None,
        };
        let dup = f
            .files
            .insert(&f.test.db, &org.id, again.clone(), "s")
            .await;
        assert_eq!(conflict(dup), "shared_file_key_uq", "{backend:?}");

        // A reference to a missing row is a ForeignKey error, not a conflict.
        again.key = again.key.as_str().replace(".pdf", ".txt").parse().unwrap();
        again.folder_id = Some(FolderId::new());
        let fk = f.files.insert(&f.test.db, &org.id, again, "s").await;
        assert!(
            matches!(fk, Err(RepoError::ForeignKey { .. })),
            "{backend:?}: {fk:?}"
        );

        // Invalid input is refused before anything is written.
        let before = f
            .orgs
            .count(&f.test.db, OrganizationFilter::default())
            .await
            .unwrap();
        let bad = f
            .orgs
            .insert(
                &f.test.db,
                NewOrganization::new("Bad", "Bad Slug!", ada.id.clone()),
                "s",
            )
            .await;
        assert!(matches!(bad, Err(RepoError::Invalid { .. })), "{bad:?}");
        assert_eq!(
            f.orgs
                .count(&f.test.db, OrganizationFilter::default())
                .await
                .unwrap(),
            before
        );
    }
}

#[tokio::test]
async fn one_organization_cannot_reach_another_organizations_rows() {
    for f in fixtures().await {
        let backend = f.backend();
        let owner = f.user("owner@example.com").await;
        let a = f.org("org-a", &owner).await;
        let b = f.org("org-b", &owner).await;
        let team = f
            .teams
            .insert(&f.test.db, &a.id, NewTeam::new("Core", "core"), "u")
            .await
            .unwrap();
        let file = f.file(&a, &owner, None, "secret.pdf").await;

        assert_eq!(
            f.teams
                .find_by_id(&f.test.db, &b.id, &team.id)
                .await
                .unwrap(),
            None,
            "{backend:?}"
        );
        assert_eq!(
            f.teams
                .find_by_id_with_deleted(&f.test.db, &b.id, &team.id)
                .await
                .unwrap(),
            None
        );
        assert!(f
            .teams
            .get(&f.test.db, &b.id, &team.id)
            .await
            .unwrap_err()
            .is_not_found());
        let patch = TeamPatch {
            name: Some("Hijacked".into()),
            ..TeamPatch::default()
        };
        assert!(f
            .teams
            .update(&f.test.db, &b.id, &team.id, 1, patch, "u")
            .await
            .unwrap_err()
            .is_not_found());
        assert!(f
            .teams
            .soft_delete(&f.test.db, &b.id, &team.id, "u")
            .await
            .unwrap_err()
            .is_not_found());
        assert!(f
            .teams
            .hard_delete(&f.test.db, &b.id, &team.id)
            .await
            .unwrap_err()
            .is_not_found());
        assert!(f
            .teams
            .list(&f.test.db, &b.id, NoFilter, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty());
        assert_eq!(f.teams.count(&f.test.db, &b.id, NoFilter).await.unwrap(), 0);
        // Another tenant's id is not a valid cursor either.
        let cursor = f
            .teams
            .list(
                &f.test.db,
                &b.id,
                NoFilter,
                PageRequest::after(team.id.as_str(), 10),
            )
            .await;
        assert!(
            matches!(cursor, Err(RepoError::InvalidCursor)),
            "{cursor:?}"
        );

        assert!(f
            .files
            .get(&f.test.db, &b.id, &file.id)
            .await
            .unwrap_err()
            .is_not_found());
        assert_eq!(
            f.files
                .get_by_keys(
                    &f.test.db,
                    &b.id,
                    &owner.id,
                    std::slice::from_ref(&file.key)
                )
                .await
                .unwrap(),
            vec![None]
        );
        assert_eq!(
            f.files
                .move_files(
                    &f.test.db,
                    &b.id,
                    &owner.id,
                    std::slice::from_ref(&file.id),
                    None
                )
                .await
                .unwrap(),
            0
        );
        assert!(f
            .files
            .delete_files(&f.test.db, &b.id, &owner.id, std::slice::from_ref(&file.id))
            .await
            .unwrap()
            .is_empty());
        assert!(f
            .files
            .hard_delete(&f.test.db, &b.id, &file.id)
            .await
            .unwrap_err()
            .is_not_found());

        // Org A's rows are intact.
        assert_eq!(
            f.teams.get(&f.test.db, &a.id, &team.id).await.unwrap(),
            team
        );
        assert_eq!(
            f.files.get(&f.test.db, &a.id, &file.id).await.unwrap(),
            file
        );
    }
}

#[tokio::test]
async fn keyset_pagination_walks_every_row_once_and_refuses_a_vanished_cursor() {
    for f in fixtures().await {
        let backend = f.backend();
        let owner = f.user("owner@example.com").await;
        let org = f.org("acme", &owner).await;
        let mut teams = Vec::new();
        for i in 0..7 {
            // Teams 3 and 4 share a created_at: the id breaks the tie.
            if i != 4 {
                f.advance(Duration::from_millis(10));
            }
            let new = NewTeam::new(format!("Team {i}"), format!("team-{i}"));
            teams.push(f.teams.insert(&f.test.db, &org.id, new, "u").await.unwrap());
        }
        let mut expected = teams.clone();
        expected.sort_by(|x, y| {
            (y.audit.created_at, y.id.as_str()).cmp(&(x.audit.created_at, x.id.as_str()))
        });
        assert_eq!(expected[0].id, teams[6].id, "newest first");

        let mut seen = Vec::new();
        let mut page = PageRequest::first(3);
        let mut pages = 0;
        loop {
            let got = f
                .teams
                .list(&f.test.db, &org.id, NoFilter, page.clone())
                .await
                .unwrap();
            pages += 1;
            assert!(got.items.len() <= 3);
            seen.extend(got.items.iter().map(|t| t.id.clone()));
            match got.next {
                Some(next) => {
                    assert_eq!(
                        Some(&next),
                        got.items.last().map(|t| t.id.as_str().to_string()).as_ref()
                    );
                    page = PageRequest::after(next, 3);
                }
                None => break,
            }
        }
        assert_eq!(pages, 3, "{backend:?}");
        assert_eq!(
            seen,
            expected.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
            "{backend:?}"
        );

        // A soft-deleted cursor still marks its place.
        let first = f
            .teams
            .list(&f.test.db, &org.id, NoFilter, PageRequest::first(2))
            .await
            .unwrap();
        let cursor = first.next.clone().unwrap();
        let cursor_id: TeamId = cursor.parse().unwrap();
        f.teams
            .soft_delete(&f.test.db, &org.id, &cursor_id, "u")
            .await
            .unwrap();
        let after = f
            .teams
            .list(
                &f.test.db,
                &org.id,
                NoFilter,
                PageRequest::after(cursor.clone(), 2),
            )
            .await
            .unwrap();
        assert_eq!(after.items[0].id, expected[2].id, "{backend:?}");

        // A cursor that no longer exists at all is an error.
        f.teams
            .hard_delete(&f.test.db, &org.id, &cursor_id)
            .await
            .unwrap();
        let gone = f
            .teams
            .list(&f.test.db, &org.id, NoFilter, PageRequest::after(cursor, 2))
            .await;
        assert!(
            matches!(gone, Err(RepoError::InvalidCursor)),
            "{backend:?}: {gone:?}"
        );

        // Limits: default 50, clamped to 1..=200.
        assert_eq!(PageRequest::default().effective_limit(), DEFAULT_PAGE_LIMIT);
        assert_eq!(PageRequest::first(10_000).effective_limit(), MAX_PAGE_LIMIT);
        let one = f
            .teams
            .list(&f.test.db, &org.id, NoFilter, PageRequest::first(0))
            .await
            .unwrap();
        assert_eq!(one.items.len(), 1);
        assert!(one.next.is_some());
        assert_eq!(
            f.teams.count(&f.test.db, &org.id, NoFilter).await.unwrap(),
            6
        );
    }
}

#[tokio::test]
async fn insert_many_is_chunked_ordered_and_atomic() {
    for f in fixtures().await {
        let backend = f.backend();
        let news: Vec<NewUser> = (0..1100)
            .map(|i| NewUser::new(format!("User {i}"), format!("user{i}@example.com")))
            .collect();
        let inserted = f
            .users
            .insert_many(&f.test.db, news, "import")
            .await
            .unwrap();
        assert_eq!(inserted.len(), 1100, "{backend:?}");
        for (i, user) in inserted.iter().enumerate() {
            assert_eq!(user.email, format!("user{i}@example.com"));
            assert_eq!(user.audit.version, 1);
            assert_eq!(user.audit.created_by.as_deref(), Some("import"));
        }
        assert_eq!(
            f.users
                .count(&f.test.db, UserFilter::default())
                .await
                .unwrap(),
            1100
        );

        // A conflict in the second chunk rolls back the first one too.
        let mut news: Vec<NewUser> = (0..600)
            .map(|i| NewUser::new("Batch", format!("batch{i}@example.com")))
            .collect();
        news.push(NewUser::new("Dup", "user7@example.com"));
        let result = f.users.insert_many(&f.test.db, news, "import").await;
        assert_eq!(conflict(result), "shared_user_email_uq", "{backend:?}");
        assert_eq!(
            f.users
                .count(&f.test.db, UserFilter::default())
                .await
                .unwrap(),
            1100
        );

        // An invalid row anywhere means nothing is written.
        let news = vec![
            NewUser::new("Ok", "ok@example.com"),
            NewUser::new("Bad", "bad"),
        ];
        assert!(matches!(
            f.users.insert_many(&f.test.db, news, "import").await,
            Err(RepoError::Invalid { .. })
        ));
        assert_eq!(
            f.users
                .find_by_email(&f.test.db, "ok@example.com")
                .await
                .unwrap(),
            None
        );
        assert!(f
            .users
            .insert_many(&f.test.db, Vec::new(), "import")
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn writes_inside_a_caller_transaction_roll_back_with_it() {
    for f in fixtures().await {
        let backend = f.backend();
        let mut tx = f.test.db.begin().await.unwrap();
        let user = f
            .users
            .insert(&mut tx, NewUser::new("Tx", "tx@example.com"), "s")
            .await
            .unwrap();
        let seen = f.users.find_by_id(&mut tx, &user.id).await.unwrap();
        assert_eq!(seen.as_ref(), Some(&user), "{backend:?}");
        // insert_many nests a savepoint inside the caller's transaction.
        f.users
            .insert_many(&mut tx, vec![NewUser::new("Tx2", "tx2@example.com")], "s")
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(
            f.users.find_by_id(&f.test.db, &user.id).await.unwrap(),
            None,
            "{backend:?}"
        );
        assert_eq!(
            f.users
                .find_by_email(&f.test.db, "tx2@example.com")
                .await
                .unwrap(),
            None
        );
        // A failed nested batch rolls back to its savepoint only: the caller's transaction
        // stays usable (PostgreSQL would otherwise refuse every further statement) and commits.
        let mut tx = f.test.db.begin().await.unwrap();
        let kept = f
            .users
            .insert(&mut tx, NewUser::new("Kept", "kept@example.com"), "s")
            .await
            .unwrap();
        let batch = vec![
            NewUser::new("Batch", "batch@example.com"),
            NewUser::new("Dup", "kept@example.com"),
        ];
        let failed = f.users.insert_many(&mut tx, batch, "s").await;
        assert_eq!(conflict(failed), "shared_user_email_uq", "{backend:?}");
        let later = f
            .users
            .insert(&mut tx, NewUser::new("Later", "later@example.com"), "s")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            f.users.get(&f.test.db, &kept.id).await.unwrap(),
            kept,
            "{backend:?}"
        );
        assert!(f
            .users
            .find_by_id(&f.test.db, &later.id)
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            f.users
                .find_by_email(&f.test.db, "batch@example.com")
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn user_lookups_are_case_insensitive() {
    for f in fixtures().await {
        let new = NewUser {
            username: Some("Ada".into()),
            ..NewUser::new("Ada", "Ada@Example.com")
        };
        let ada = f.users.insert(&f.test.db, new, "s").await.unwrap();
        assert_eq!(
            f.users
                .find_by_email(&f.test.db, "ADA@example.COM")
                .await
                .unwrap()
                .as_ref(),
            Some(&ada)
        );
        assert_eq!(
            f.users
                .find_by_username(&f.test.db, "aDA")
                .await
                .unwrap()
                .as_ref(),
            Some(&ada)
        );
        assert_eq!(
            f.users
                .find_by_email(&f.test.db, "nobody@example.com")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            f.users
                .find_by_email(&f.test.db, "not an email")
                .await
                .unwrap(),
            None
        );
        f.users.soft_delete(&f.test.db, &ada.id, "s").await.unwrap();
        assert_eq!(
            f.users
                .find_by_email(&f.test.db, "ada@example.com")
                .await
                .unwrap(),
            None,
            "{:?}",
            f.backend()
        );
    }
}

#[tokio::test]
async fn organizations_by_slug() {
    for f in fixtures().await {
        let owner = f.user("owner@example.com").await;
        let org = f
            .orgs
            .insert(
                &f.test.db,
                NewOrganization {
                    features: Some(json!({ "beta": true })),
                    org_type: OrganizationType::Team,
                    subscription_tier: SubscriptionTier::Pro,
                    ..NewOrganization::new("Acme", "acme", owner.id.clone())
                },
                owner.id.as_str(),
            )
            .await
            .unwrap();
        assert_eq!(org.features, Some(json!({ "beta": true })));
        assert_eq!(org.org_type, OrganizationType::Team);
        assert_eq!(serde_json::to_value(&org).unwrap()["type"], "team");
        assert_eq!(
            f.orgs
                .find_by_slug(&f.test.db, "acme")
                .await
                .unwrap()
                .as_ref(),
            Some(&org)
        );
        assert_eq!(
            f.orgs.find_by_slug(&f.test.db, "other").await.unwrap(),
            None
        );
        assert!(f.orgs.slug_exists(&f.test.db, "acme").await.unwrap());
        assert!(!f.orgs.slug_exists(&f.test.db, "other").await.unwrap());
        f.orgs.soft_delete(&f.test.db, &org.id, "s").await.unwrap();
        assert_eq!(f.orgs.find_by_slug(&f.test.db, "acme").await.unwrap(), None);
        assert!(
            f.orgs.slug_exists(&f.test.db, "acme").await.unwrap(),
            "a soft-deleted org keeps its slug"
        );
    }
}

#[tokio::test]
async fn sessions_by_token_ignore_expired_ones() {
    for f in fixtures().await {
        let backend = f.backend();
        let user = f.user("u@example.com").await;
        let other = f.user("o@example.com").await;
        let org = f.org("acme", &user).await;
        let hour = Duration::from_secs(3600);
        let long = f
            .sessions
            .insert(
                &f.test.db,
                NewSession::new("tok-long", user.id.clone(), f.now().plus(hour * 24)),
                "u",
            )
            .await
            .unwrap();
        let short = f
            .sessions
            .insert(
                &f.test.db,
                NewSession::new("tok-short", user.id.clone(), f.now().plus(hour)),
                "u",
            )
            .await
            .unwrap();
        f.sessions
            .insert(
                &f.test.db,
                NewSession::new("tok-other", other.id.clone(), f.now().plus(hour)),
                "o",
            )
            .await
            .unwrap();
        assert_eq!(
            f.sessions
                .find_by_token(&f.test.db, "tok-short")
                .await
                .unwrap()
                .as_ref(),
            Some(&short)
        );
        assert_eq!(
            f.sessions
                .list_by_user(&f.test.db, &user.id)
                .await
                .unwrap()
                .len(),
            2
        );

        let past = NewSession::new("tok-past", user.id.clone(), f.now());
        assert!(matches!(
            f.sessions.insert(&f.test.db, past, "u").await,
            Err(RepoError::Invalid { .. })
        ));

        f.advance(hour * 2);
        assert_eq!(
            f.sessions
                .find_by_token(&f.test.db, "tok-short")
                .await
                .unwrap(),
            None,
            "{backend:?}"
        );
        assert!(f
            .sessions
            .find_by_token(&f.test.db, "tok-long")
            .await
            .unwrap()
            .is_some());
        let active: Vec<_> = f
            .sessions
            .list_by_user(&f.test.db, &user.id)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(active, vec![long.id.clone()]);

        // The active organization is set, and cleared by the FK when the org goes away.
        let switched = f
            .sessions
            .set_active_organization(&f.test.db, &long.id, Some(&org.id), None)
            .await
            .unwrap();
        assert_eq!(switched.active_organization_id.as_ref(), Some(&org.id));
        assert_eq!(switched.audit.version, 2);
        assert_eq!(switched.audit.updated_by.as_deref(), Some(user.id.as_str()));
        let expired = f
            .sessions
            .set_active_organization(&f.test.db, &short.id, Some(&org.id), None)
            .await;
        assert!(expired.unwrap_err().is_not_found());
        f.orgs.hard_delete(&f.test.db, &org.id).await.unwrap();
        let reread = f.sessions.get(&f.test.db, &long.id).await.unwrap();
        assert_eq!(reread.active_organization_id, None, "{backend:?}");

        // tok-short and tok-other expired an hour ago.
        assert_eq!(
            f.sessions
                .delete_expired(&f.test.db, f.now())
                .await
                .unwrap(),
            2,
            "{backend:?}"
        );
        assert_eq!(
            f.sessions
                .delete_expired(&f.test.db, f.now())
                .await
                .unwrap(),
            0
        );

        let extra = f
            .sessions
            .insert(
                &f.test.db,
                NewSession::new("tok-extra", user.id.clone(), f.now().plus(hour)),
                "u",
            )
            .await
            .unwrap();
        assert_eq!(
            f.sessions
                .delete_by_user(&f.test.db, &user.id, Some(&extra.id))
                .await
                .unwrap(),
            1
        );
        assert!(f
            .sessions
            .find_by_token(&f.test.db, "tok-extra")
            .await
            .unwrap()
            .is_some());
        assert!(
            f.sessions
                .find_by_token(&f.test.db, "tok-long")
                .await
                .unwrap()
                .is_none(),
            "revoked"
        );
        assert!(f
            .sessions
            .delete_by_token(&f.test.db, "tok-extra")
            .await
            .unwrap());
        assert!(!f
            .sessions
            .delete_by_token(&f.test.db, "tok-extra")
            .await
            .unwrap());
        assert_eq!(
            f.sessions
                .count(
                    &f.test.db,
                    SessionFilter {
                        user_id: Some(user.id.clone())
                    }
                )
                .await
                .unwrap(),
            0
        );
    }
}

#[tokio::test]
async fn file_listing_groups_root_files_and_folders() {
    for f in fixtures().await {
        let backend = f.backend();
        let ada = f.user("ada@example.com").await;
        let bob = f.user("bob@example.com").await;
        let org = f.org("acme", &ada).await;
        let zeta = f
            .folders
            .create(&f.test.db, &org.id, &ada.id, "  zeta ")
            .await
            .unwrap();
        let alpha = f
            .folders
            .create(&f.test.db, &org.id, &ada.id, "alpha")
            .await
            .unwrap();
        let beta = f
            .folders
            .create(&f.test.db, &org.id, &ada.id, "Beta")
            .await
            .unwrap();
        f.folders
            .create(&f.test.db, &org.id, &bob.id, "bob's")
            .await
            .unwrap();
        assert_eq!(zeta.name, "zeta");

        let root_old = f.file(&org, &ada, None, "old.pdf").await;
        f.advance(Duration::from_millis(5));
        let root_new = f.file(&org, &ada, None, "new.pdf").await;
        let in_alpha_1 = f.file(&org, &ada, Some(&alpha.id), "a1.pdf").await;
        f.advance(Duration::from_millis(5));
        let in_alpha_2 = f.file(&org, &ada, Some(&alpha.id), "a2.pdf").await;
        f.file(&org, &bob, None, "bob.pdf").await;
        let deleted = f.file(&org, &ada, None, "deleted.pdf").await;
        f.files
            .soft_delete(&f.test.db, &org.id, &deleted.id, "ada")
            .await
            .unwrap();

        let listing = f
            .files
            .list_paginated(&f.test.db, &org.id, &ada.id, 0, 2)
            .await
            .unwrap();
        let ids = |files: &[File]| files.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&listing.root_files),
            vec![root_new.id.clone(), root_old.id.clone()],
            "{backend:?}"
        );
        // Byte order: "Beta" < "alpha" < "zeta" on both backends.
        let names: Vec<_> = listing
            .folders
            .iter()
            .map(|f| f.folder.name.as_str())
            .collect();
        assert_eq!(names, vec!["Beta", "alpha"], "{backend:?}");
        assert_eq!(listing.folders[0].folder.id, beta.id);
        assert!(listing.folders[0].uploaded_files.is_empty());
        assert_eq!(
            ids(&listing.folders[1].uploaded_files),
            vec![in_alpha_2.id.clone(), in_alpha_1.id.clone()]
        );
        assert_eq!(
            (
                listing.total,
                listing.offset,
                listing.limit,
                listing.has_next
            ),
            (3, 0, 2, true)
        );

        let rest = f
            .files
            .list_paginated(&f.test.db, &org.id, &ada.id, 2, 2)
            .await
            .unwrap();
        assert_eq!(
            rest.folders
                .iter()
                .map(|f| f.folder.id.clone())
                .collect::<Vec<_>>(),
            vec![zeta.id.clone()]
        );
        assert!(!rest.has_next);

        let wire = serde_json::to_value(&listing).unwrap();
        assert!(wire["rootFiles"].is_array() && wire["hasNext"] == true);
        assert_eq!(wire["folders"][1]["name"], "alpha");
        assert_eq!(
            wire["folders"][1]["uploadedFiles"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}

#[tokio::test]
async fn moving_deleting_and_finding_files_only_touch_the_callers_own() {
    for f in fixtures().await {
        let backend = f.backend();
        let ada = f.user("ada@example.com").await;
        let bob = f.user("bob@example.com").await;
        let org = f.org("acme", &ada).await;
        let ada_folder = f
            .folders
            .create(&f.test.db, &org.id, &ada.id, "docs")
            .await
            .unwrap();
        let bob_folder = f
            .folders
            .create(&f.test.db, &org.id, &bob.id, "bob")
            .await
            .unwrap();
        let a1 = f.file(&org, &ada, None, "a1.pdf").await;
        let a2 = f.file(&org, &ada, None, "a2.pdf").await;
        let b1 = f.file(&org, &bob, None, "b1.pdf").await;

        // Move into the caller's folder: only the caller's files move.
        f.advance(Duration::from_secs(1));
        let ids = vec![a1.id.clone(), a2.id.clone(), b1.id.clone(), FileId::new()];
        let moved = f
            .files
            .move_files(&f.test.db, &org.id, &ada.id, &ids, Some(&ada_folder.id))
            .await
            .unwrap();
        assert_eq!(moved, 2, "{backend:?}");
        let a1_moved = f.files.get(&f.test.db, &org.id, &a1.id).await.unwrap();
        assert_eq!(a1_moved.folder_id.as_ref(), Some(&ada_folder.id));
        assert_eq!(a1_moved.audit.version, 2);
        assert_eq!(a1_moved.audit.updated_at, f.now());
        assert_eq!(
            f.files
                .get(&f.test.db, &org.id, &b1.id)
                .await
                .unwrap()
                .folder_id,
            None
        );

        // Someone else's folder (or an unknown one) is not a valid target.
        let err = f
            .files
            .move_files(
                &f.test.db,
                &org.id,
                &ada.id,
                std::slice::from_ref(&a1.id),
                Some(&bob_folder.id),
            )
            .await;
        assert!(
            matches!(
                &err,
                Err(RepoError::NotFound {
                    entity: "Folder",
                    ..
                })
            ),
            "{err:?}"
        );
        let err = f
            .files
            .move_files(
                &f.test.db,
                &org.id,
                &ada.id,
                std::slice::from_ref(&a1.id),
                Some(&FolderId::new()),
            )
            .await;
        assert!(err.unwrap_err().is_not_found());
        assert_eq!(
            f.files
                .move_files(&f.test.db, &org.id, &ada.id, &[], Some(&bob_folder.id))
                .await
                .unwrap(),
            0
        );

        // Back to the root.
        assert_eq!(
            f.files
                .move_files(
                    &f.test.db,
                    &org.id,
                    &ada.id,
                    std::slice::from_ref(&a1.id),
                    None
                )
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            f.files
                .get(&f.test.db, &org.id, &a1.id)
                .await
                .unwrap()
                .folder_id,
            None
        );

        // Lookup by keys is aligned with the input and hides others' files.
        let found = f
            .files
            .get_by_keys(
                &f.test.db,
                &org.id,
                &ada.id,
                &[
                    b1.key.clone(),
                    a2.key.clone(),
                    format!(
                        "/dev/tenants/ab/individual/{}/user/{}/document/2026/01/{}.pdf",
                        org.id,
                        ada.id,
                        FileId::new()
                    )
                    .parse()
                    .unwrap(),
                    a1.key.clone(),
                ],
            )
            .await
            .unwrap();
        let found: Vec<_> = found.into_iter().map(|f| f.map(|f| f.id)).collect();
        assert_eq!(
            found,
            vec![None, Some(a2.id.clone()), None, Some(a1.id.clone())],
            "{backend:?}"
        );

        // Deleting returns the keys of the caller's files only.
        let mut keys = f
            .files
            .delete_files(
                &f.test.db,
                &org.id,
                &ada.id,
                &[a1.id.clone(), b1.id.clone()],
            )
            .await
            .unwrap();
        keys.sort();
        assert_eq!(keys, vec![a1.key.clone()], "{backend:?}");
        assert_eq!(
            f.files
                .find_by_id_with_deleted(&f.test.db, &org.id, &a1.id)
                .await
                .unwrap(),
            None
        );
        assert!(f
            .files
            .find_by_id(&f.test.db, &org.id, &b1.id)
            .await
            .unwrap()
            .is_some());
        assert!(f
            .files
            .delete_files(&f.test.db, &org.id, &ada.id, &[])
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn folder_deletion_is_owner_checked_and_returns_the_cascaded_keys() {
    for f in fixtures().await {
        let backend = f.backend();
        let ada = f.user("ada@example.com").await;
        let bob = f.user("bob@example.com").await;
        let org = f.org("acme", &ada).await;
        let folder = f
            .folders
            .create(&f.test.db, &org.id, &ada.id, "docs")
            .await
            .unwrap();
        let inside_1 = f.file(&org, &ada, Some(&folder.id), "1.pdf").await;
        let inside_2 = f.file(&org, &ada, Some(&folder.id), "2.pdf").await;
        let outside = f.file(&org, &ada, None, "3.pdf").await;

        assert!(matches!(
            f.folders.create(&f.test.db, &org.id, &ada.id, "   ").await,
            Err(RepoError::Invalid { .. })
        ));
        assert!(matches!(
            f.folders
                .create(&f.test.db, &org.id, &ada.id, &"x".repeat(256))
                .await,
            Err(RepoError::Invalid { .. })
        ));

        // Bob is a member of the same organization but does not own the folder.
        let keys = f
            .folders
            .delete_folders(
                &f.test.db,
                &org.id,
                &bob.id,
                std::slice::from_ref(&folder.id),
            )
            .await
            .unwrap();
        assert!(keys.is_empty(), "{backend:?}");
        assert!(f
            .folders
            .find_by_id(&f.test.db, &org.id, &folder.id)
            .await
            .unwrap()
            .is_some());
        assert!(f
            .files
            .find_by_id(&f.test.db, &org.id, &inside_1.id)
            .await
            .unwrap()
            .is_some());

        let mut keys = f
            .folders
            .delete_folders(
                &f.test.db,
                &org.id,
                &ada.id,
                &[folder.id.clone(), FolderId::new()],
            )
            .await
            .unwrap();
        keys.sort();
        let mut expected = vec![inside_1.key.clone(), inside_2.key.clone()];
        expected.sort();
        assert_eq!(keys, expected, "{backend:?}");
        assert_eq!(
            f.folders
                .find_by_id_with_deleted(&f.test.db, &org.id, &folder.id)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            f.files
                .find_by_id_with_deleted(&f.test.db, &org.id, &inside_1.id)
                .await
                .unwrap(),
            None,
            "cascaded"
        );
        assert!(f
            .files
            .find_by_id(&f.test.db, &org.id, &outside.id)
            .await
            .unwrap()
            .is_some());
    }
}

#[tokio::test]
async fn upload_sessions_upsert_expire_and_delete() {
    for f in fixtures().await {
        let backend = f.backend();
        let ada = f.user("ada@example.com").await;
        let bob = f.user("bob@example.com").await;
        let org = f.org("acme", &ada).await;
        let other_org = f.org("globex", &bob).await;
        let key = &new_key(&org.id, &ada.id);
        let expires = f.now().plus(Duration::from_secs(15 * 60));

        let id = f
            .uploads
            .store(
                &f.test.db,
                &org.id,
                &ada.id,
                key,
                &signature(1),
                json!({ "v": 1 }),
                expires,
            )
            .await
            .unwrap();
        let first = f
            .uploads
            .find_by_file_key(&f.test.db, &org.id, key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.id, id);
        assert_eq!(first.audit.source.as_deref(), Some("upload-initiation"));
        assert_eq!(first.expires_at, expires);

        // Storing again replaces the descriptor in place.
        f.advance(Duration::from_secs(60));
        let later = expires.plus(Duration::from_secs(60));
        let again = f
            .uploads
            .store(
                &f.test.db,
                &org.id,
                &ada.id,
                key,
                &signature(2),
                json!({ "v": 2 }),
                later,
            )
            .await
            .unwrap();
        assert_eq!(again, id, "{backend:?}");
        let second = f
            .uploads
            .find_by_file_key(&f.test.db, &org.id, key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.signature, signature(2));
        assert_eq!(second.metadata, json!({ "v": 2 }));
        assert_eq!(second.expires_at, later);
        assert_eq!(second.audit.version, 2);
        assert_eq!(second.audit.created_at, first.audit.created_at);
        assert_eq!(
            f.uploads
                .count(&f.test.db, &org.id, UploadSessionFilter::default())
                .await
                .unwrap(),
            1
        );

        // Another user or organization cannot take the key over.
        let theft = f
            .uploads
            .store(
                &f.test.db,
                &other_org.id,
                &bob.id,
                key,
                &signature(3),
                json!({}),
                later,
            )
            .await;
        assert_eq!(
            conflict(theft),
            "shared_upload_session_file_key_uq",
            "{backend:?}"
        );
        let theft = f
            .uploads
            .store(
                &f.test.db,
                &org.id,
                &bob.id,
                key,
                &signature(3),
                json!({}),
                later,
            )
            .await;
        assert_eq!(
            conflict(theft),
            "shared_upload_session_file_key_uq",
            "{backend:?}"
        );
        let bad = f
            .uploads
            .store(
                &f.test.db,
                &org.id,
                &ada.id,
                &new_key(&org.id, &ada.id),
                "hmac-sha256=xyz",
                json!({}),
                later,
            )
            .await;
        assert!(matches!(bad, Err(RepoError::Invalid { .. })), "{bad:?}");

        // Valid up to and including its expiry, in its own organization only.
        assert!(f
            .uploads
            .is_valid(&f.test.db, &org.id, key, f.now())
            .await
            .unwrap());
        assert!(f
            .uploads
            .is_valid(&f.test.db, &org.id, key, later)
            .await
            .unwrap());
        assert!(!f
            .uploads
            .is_valid(
                &f.test.db,
                &org.id,
                key,
                later.plus(Duration::from_millis(1))
            )
            .await
            .unwrap());
        assert!(!f
            .uploads
            .is_valid(&f.test.db, &other_org.id, key, f.now())
            .await
            .unwrap());
        assert_eq!(
            f.uploads
                .find_by_file_key(&f.test.db, &other_org.id, key)
                .await
                .unwrap(),
            None
        );
        assert!(!f
            .uploads
            .delete_by_file_key(&f.test.db, &other_org.id, key)
            .await
            .unwrap());

        // The clean-up job removes expired sessions of every organization.
        f.uploads
            .store(
                &f.test.db,
                &other_org.id,
                &bob.id,
                &new_key(&other_org.id, &bob.id),
                &signature(4),
                json!({}),
                f.now().plus(Duration::from_secs(1)),
            )
            .await
            .unwrap();
        assert_eq!(
            f.uploads.delete_expired(&f.test.db, later).await.unwrap(),
            1,
            "{backend:?}"
        );
        assert_eq!(
            f.uploads
                .delete_expired(&f.test.db, later.plus(Duration::from_millis(1)))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            f.uploads
                .find_by_file_key(&f.test.db, &org.id, key)
                .await
                .unwrap(),
            None
        );

        // Deleting is idempotent.
        f.uploads
            .store(
                &f.test.db,
                &org.id,
                &ada.id,
                key,
                &signature(5),
                json!({}),
                later,
            )
            .await
            .unwrap();
        assert!(f
            .uploads
            .delete_by_file_key(&f.test.db, &org.id, key)
            .await
            .unwrap());
        assert!(!f
            .uploads
            .delete_by_file_key(&f.test.db, &org.id, key)
            .await
            .unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------------------------

/// Records the names of the spans created on this thread.
struct SpanNames(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for SpanNames {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut names = self.0.lock().unwrap();
        names.push(span.metadata().name().to_string());
        tracing::span::Id::from_u64(names.len() as u64)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn each_call_is_traced_as_repo_dot_operation() {
    // tracing caches per callsite whether anyone listens. With a single scoped dispatcher it
    // asks the *registering thread's* default, so a span first hit by a parallel test would be
    // cached as "never"; a second live dispatcher makes it ask every dispatcher instead.
    let _second = tracing::Dispatch::new(SpanNames(Arc::new(Mutex::new(Vec::new()))));
    for f in fixtures().await {
        let names = Arc::new(Mutex::new(Vec::new()));
        let guard = tracing::subscriber::set_default(SpanNames(names.clone()));
        let user = f.user("ada@example.com").await;
        let org = f.org("acme", &user).await;
        f.users.get(&f.test.db, &user.id).await.unwrap();
        f.users
            .find_by_email(&f.test.db, "ada@example.com")
            .await
            .unwrap();
        f.teams
            .list(&f.test.db, &org.id, NoFilter, PageRequest::default())
            .await
            .unwrap();
        f.folders
            .create(&f.test.db, &org.id, &user.id, "docs")
            .await
            .unwrap();
        drop(guard);
        let names = names.lock().unwrap().clone();
        for expected in [
            "UserRepo.insert",
            "OrganizationRepo.insert",
            "UserRepo.get",
            "UserRepo.find_by_email",
            "TeamRepo.list",
            "FolderRepo.create",
            "FolderRepo.insert",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{:?}: {expected} not in {names:?}",
                f.backend()
            );
        }
    }
}

/// A key of the §1.4 layout for a new file of `user` in `org`.
fn new_key(org: &OrganizationId, user: &UserId) -> ObjectKey {
    format!(
        "/dev/tenants/ab/individual/{org}/user/{user}/document/2026/01/{}.pdf",
        FileId::new()
    )
    .parse()
    .unwrap()
}
