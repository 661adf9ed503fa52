//! `MemberRepo`: memberships (org-scoped), plus the lookups sessions need: a user's membership
//! of one organization, and the user's organizations in the personal-first order that picks a
//! new session's active organization (slices.md §2.2), and for the organization plugin the
//! members joined with their users (list-members), lookups by email and owner counts.

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::{Organization, OrganizationId, UserId};

use crate::entities::{Member, MemberId, MemberStatus};

/// A member with the fields of its user the auth API shows (`user: {id, name, email, image}`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MemberWithUser {
    #[sqlx(flatten)]
    pub member: Member,
    pub user_name: String,
    pub user_email: String,
    pub user_image: Option<String>,
}

/// Sort key of [`MemberRepo::list_with_users`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberSort {
    #[default]
    CreatedAt,
    Role,
    Name,
    Email,
}

/// Filter of [`MemberRepo::list_with_users`] (`filterField`/`filterValue`, equality).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberMatch {
    Role(String),
    UserId(UserId),
    Email(String),
}

/// A page of members: sort, direction, optional filter, offset and limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberQuery {
    pub sort: MemberSort,
    pub descending: bool,
    pub filter: Option<MemberMatch>,
    pub offset: u64,
    pub limit: u64,
}

const MEMBER_WITH_USER: &str = "SELECT m.*, u.name AS user_name, u.email AS user_email, \
     u.image AS user_image FROM iam_member m JOIN shared_user u ON u.id = m.user_id \
     WHERE m.organization_id = ";

shared_server::repository!(
    /// Organization memberships (org-scoped).
    MemberRepo(OrgRepo<Member>)
);

impl MemberRepo {
    /// The user's membership of `org` (any status), unless soft-deleted.
    #[tracing::instrument(skip_all, name = "MemberRepo.find")]
    pub async fn find(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Option<Member>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND user_id = ")
            .push_bind(user)
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Member>)
    }

    /// Active members of `org`.
    #[tracing::instrument(skip_all, name = "MemberRepo.count_active")]
    pub async fn count_active(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT COUNT(*) FROM iam_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND status = ")
            .push_bind(MemberStatus::Active)
            .push(" AND deleted_at IS NULL");
        let (n,): (i64,) = sql.fetch_one(conn).await.map_err(map_db_error::<Member>)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The organizations where the user is an active member, personal first, then by when the
    /// user joined, then by the organization's age (slices.md §2.2). The first one is what a
    /// new session activates.
    #[tracing::instrument(skip_all, name = "MemberRepo.list_active_for_user_personal_first")]
    pub async fn list_active_for_user_personal_first(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
    ) -> Result<Vec<Organization>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        // COALESCE: NULL ordering differs between the backends; a membership without a join
        // time counts from its creation.
        let mut sql = Sql::new(
            "SELECT o.* FROM shared_organization o \
             JOIN iam_member m ON m.organization_id = o.id \
             WHERE m.user_id = ",
        );
        sql.push_bind(user)
            .push(" AND m.status = ")
            .push_bind(MemberStatus::Active)
            .push(
                " AND m.deleted_at IS NULL AND o.deleted_at IS NULL \
                 ORDER BY o.is_personal DESC, COALESCE(m.joined_at, m.created_at) ASC, \
                 o.created_at ASC, o.id ASC",
            );
        sql.fetch_all(conn).await.map_err(map_db_error::<Member>)
    }

    /// Active members of `org` with their users, per `query`, and the total matching the
    /// filter (before offset/limit).
    #[tracing::instrument(skip_all, name = "MemberRepo.list_with_users")]
    pub async fn list_with_users(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        query: &MemberQuery,
    ) -> Result<(Vec<MemberWithUser>, u64), RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let filter = |sql: &mut Sql| {
            sql.push_bind(org)
                .push(" AND m.status = ")
                .push_bind(MemberStatus::Active)
                .push(" AND m.deleted_at IS NULL AND u.deleted_at IS NULL");
            match &query.filter {
                Some(MemberMatch::Role(role)) => {
                    sql.push(" AND m.role = ").push_bind(role.as_str());
                }
                Some(MemberMatch::UserId(user)) => {
                    sql.push(" AND m.user_id = ").push_bind(user);
                }
                Some(MemberMatch::Email(email)) => {
                    sql.push(" AND u.email = ").push_bind(email.to_lowercase());
                }
                None => {}
            }
        };
        let mut count = Sql::new(
            "SELECT COUNT(*) FROM iam_member m JOIN shared_user u ON u.id = m.user_id \
             WHERE m.organization_id = ",
        );
        filter(&mut count);
        let (total,): (i64,) = count
            .fetch_one(conn)
            .await
            .map_err(map_db_error::<Member>)?;
        let mut sql = Sql::new(MEMBER_WITH_USER);
        filter(&mut sql);
        let column = match query.sort {
            MemberSort::CreatedAt => "m.created_at",
            MemberSort::Role => "m.role",
            MemberSort::Name => "u.name",
            MemberSort::Email => "u.email",
        };
        let direction = if query.descending { "DESC" } else { "ASC" };
        sql.push(&format!(
            " ORDER BY {column} {direction}, m.id {direction} LIMIT "
        ))
        .push_bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
        .push(" OFFSET ")
        .push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
        let rows = sql.fetch_all(conn).await.map_err(map_db_error::<Member>)?;
        Ok((rows, u64::try_from(total).unwrap_or(0)))
    }

    /// One member of `org` with its user, by member id.
    #[tracing::instrument(skip_all, name = "MemberRepo.find_with_user")]
    pub async fn find_with_user(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &MemberId,
    ) -> Result<Option<MemberWithUser>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(MEMBER_WITH_USER);
        sql.push_bind(org)
            .push(" AND m.id = ")
            .push_bind(id)
            .push(" AND m.deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Member>)
    }

    /// The member of `org` whose user has this email (any case).
    #[tracing::instrument(skip_all, name = "MemberRepo.find_by_email")]
    pub async fn find_by_email(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        email: &str,
    ) -> Result<Option<MemberWithUser>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(MEMBER_WITH_USER);
        sql.push_bind(org)
            .push(" AND u.email = ")
            .push_bind(email.to_lowercase())
            .push(" AND m.deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Member>)
    }

    /// Active members of `org` holding the owner role (alone or in a list).
    #[tracing::instrument(skip_all, name = "MemberRepo.count_owners")]
    pub async fn count_owners(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT role FROM iam_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND status = ")
            .push_bind(MemberStatus::Active)
            .push(" AND deleted_at IS NULL");
        let roles: Vec<(crate::entities::MemberRoles,)> =
            sql.fetch_all(conn).await.map_err(map_db_error::<Member>)?;
        Ok(roles
            .iter()
            .filter(|(r,)| r.contains(crate::entities::MemberRole::Owner))
            .count() as u64)
    }
}
