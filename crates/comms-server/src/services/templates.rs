//! `EmailTemplateService`: the RPC-ready operations on an organization's email templates
//! (create, get, list, update, upsert, delete, preview) and the lookup every send uses:
//! the organization's template by name, else the built-in one.
//!
//! Input is validated here, naming the field (`name`, `subject`, `bodyHtml`, `to[1]`) before
//! anything is written; the entity re-checks as a backstop.

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use shared_server::db::repo::{NoFilter, Page, PageRequest};
use shared_server::db::{Db, Exec};
use shared_server::entities::{OrganizationId, UserId};
use shared_server::mail::{is_valid_template_name, EmailAddress, MailError};

use super::renderer::{placeholders, RenderedEmail, TemplateRenderer, TemplateSource};
use crate::entities::{EmailTemplate, EmailTemplateId, EmailTemplatePatch, NewEmailTemplate};
use crate::error::CommsError;
use crate::repos::EmailTemplateRepo;

/// A template to create (the `template_upsert` payload without `version`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInput {
    pub name: String,
    pub subject: String,
    pub body_html: String,
    #[serde(default)]
    pub body_text: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub bcc: Vec<String>,
}

/// A partial update: only set fields change (`Some(None)` clears a nullable one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateUpdate {
    pub name: Option<String>,
    pub subject: Option<String>,
    pub body_html: Option<String>,
    pub body_text: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub to: Option<Vec<String>>,
    pub cc: Option<Vec<String>>,
    pub bcc: Option<Vec<String>>,
}

/// Template operations for one organization at a time.
#[derive(Debug, Clone)]
pub struct EmailTemplateService {
    repo: EmailTemplateRepo,
    renderer: TemplateRenderer,
}

impl EmailTemplateService {
    pub fn new(repo: EmailTemplateRepo, renderer: TemplateRenderer) -> Self {
        Self { repo, renderer }
    }

    /// The pool the operations run on.
    fn db(&self) -> &Db {
        self.repo.db()
    }

    pub fn renderer(&self) -> &TemplateRenderer {
        &self.renderer
    }

    pub fn repo(&self) -> &EmailTemplateRepo {
        &self.repo
    }

    pub async fn create(
        &self,
        org: &OrganizationId,
        actor: &UserId,
        input: TemplateInput,
    ) -> Result<EmailTemplate, CommsError> {
        let new = validate_input(actor, input)?;
        Ok(self
            .repo
            .insert(self.db(), org, new, actor.as_str())
            .await?)
    }

    pub async fn get(
        &self,
        org: &OrganizationId,
        id: &EmailTemplateId,
    ) -> Result<EmailTemplate, CommsError> {
        Ok(self.repo.get(self.db(), org, id).await?)
    }

    /// The organization's own templates, newest first.
    pub async fn list(
        &self,
        org: &OrganizationId,
        page: PageRequest,
    ) -> Result<Page<EmailTemplate>, CommsError> {
        Ok(self.repo.list(self.db(), org, NoFilter, page).await?)
    }

    pub async fn update(
        &self,
        org: &OrganizationId,
        id: &EmailTemplateId,
        expected_version: i32,
        update: TemplateUpdate,
        actor: &UserId,
    ) -> Result<EmailTemplate, CommsError> {
        let patch = validate_update(update)?;
        Ok(self
            .repo
            .update(self.db(), org, id, expected_version, patch, actor.as_str())
            .await?)
    }

    /// Creates the template, or updates the organization's template of that name (at
    /// `version` when given: a stale version is a `VersionConflict`).
    pub async fn upsert(
        &self,
        org: &OrganizationId,
        actor: &UserId,
        input: TemplateInput,
        version: Option<i32>,
    ) -> Result<EmailTemplate, CommsError> {
        match self.repo.find_by_name(self.db(), org, &input.name).await? {
            None => self.create(org, actor, input).await,
            Some(existing) => {
                let update = TemplateUpdate {
                    name: None,
                    subject: Some(input.subject),
                    body_html: Some(input.body_html),
                    body_text: Some(input.body_text),
                    description: Some(input.description),
                    to: Some(input.to),
                    cc: Some(input.cc),
                    bcc: Some(input.bcc),
                };
                let version = version.unwrap_or(existing.audit.version);
                self.update(org, &existing.id, version, update, actor).await
            }
        }
    }

    /// Deletes the template for good; the built-in one of that name applies again.
    pub async fn delete(
        &self,
        org: &OrganizationId,
        id: &EmailTemplateId,
    ) -> Result<(), CommsError> {
        Ok(self.repo.hard_delete(self.db(), org, id).await?)
    }

    /// Renders the template `name` as a send would, without queuing anything.
    pub async fn preview(
        &self,
        org: &OrganizationId,
        name: &str,
        variables: &Map<String, Json>,
    ) -> Result<RenderedEmail, CommsError> {
        let template = self.resolve(self.db(), Some(org), name).await?;
        Ok(self.renderer.render(&template, variables)?)
    }

    /// The template a send uses: `org`'s template called `name`, else the built-in one.
    pub async fn resolve(
        &self,
        on: impl Into<Exec<'_>>,
        org: Option<&OrganizationId>,
        name: &str,
    ) -> Result<TemplateSource, MailError> {
        if let Some(org) = org {
            if let Some(row) = self.repo.find_by_name(on, org, name).await? {
                let (to, cc, bcc) =
                    row.default_recipients()
                        .map_err(|message| MailError::Template {
                            template: name.to_string(),
                            message,
                        })?;
                return Ok(TemplateSource {
                    name: row.name,
                    subject: row.subject,
                    html: row.body_html,
                    text: row.body_text,
                    to,
                    cc,
                    bcc,
                    builtin: false,
                });
            }
        }
        TemplateRenderer::builtin(name).ok_or_else(|| MailError::TemplateNotFound {
            name: name.to_string(),
        })
    }
}

fn validate_input(actor: &UserId, input: TemplateInput) -> Result<NewEmailTemplate, CommsError> {
    check_name(&input.name)?;
    check_part("subject", &input.subject, true)?;
    check_part("bodyHtml", &input.body_html, true)?;
    if let Some(text) = &input.body_text {
        check_part("bodyText", text, false)?;
    }
    Ok(NewEmailTemplate {
        user_id: actor.clone(),
        name: input.name,
        description: input.description,
        subject: input.subject,
        body_html: input.body_html,
        body_text: input.body_text.filter(|t| !t.trim().is_empty()),
        to: parse_list("to", &input.to)?,
        cc: parse_list("cc", &input.cc)?,
        bcc: parse_list("bcc", &input.bcc)?,
        source: Some("api".into()),
    })
}

fn validate_update(update: TemplateUpdate) -> Result<EmailTemplatePatch, CommsError> {
    if let Some(name) = &update.name {
        check_name(name)?;
    }
    if let Some(subject) = &update.subject {
        check_part("subject", subject, true)?;
    }
    if let Some(html) = &update.body_html {
        check_part("bodyHtml", html, true)?;
    }
    if let Some(Some(text)) = &update.body_text {
        check_part("bodyText", text, false)?;
    }
    Ok(EmailTemplatePatch {
        name: update.name,
        description: update.description,
        subject: update.subject,
        body_html: update.body_html,
        body_text: update.body_text.map(|t| t.filter(|t| !t.trim().is_empty())),
        to: update.to.map(|l| parse_list("to", &l)).transpose()?,
        cc: update.cc.map(|l| parse_list("cc", &l)).transpose()?,
        bcc: update.bcc.map(|l| parse_list("bcc", &l)).transpose()?,
    })
}

fn check_name(name: &str) -> Result<(), MailError> {
    if is_valid_template_name(name) {
        Ok(())
    } else {
        Err(MailError::Invalid {
            field: "name".into(),
            message: format!(
                "`{}` must match ^[a-z0-9][a-z0-9._-]{{0,63}}$",
                name.chars().take(80).collect::<String>()
            ),
        })
    }
}

fn check_part(field: &str, source: &str, required: bool) -> Result<(), MailError> {
    if required && source.trim().is_empty() {
        return Err(MailError::Invalid {
            field: field.into(),
            message: "is empty".into(),
        });
    }
    if field == "subject" && source.contains(['\r', '\n']) {
        return Err(MailError::Invalid {
            field: field.into(),
            message: "must be a single line".into(),
        });
    }
    placeholders(field, source).map(|_| ())
}

fn parse_list(field: &str, values: &[String]) -> Result<Vec<EmailAddress>, MailError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            EmailAddress::parse(v).map_err(|e| MailError::InvalidAddress {
                field: format!("{field}[{i}]"),
                value: e.value,
                reason: e.reason,
            })
        })
        .collect()
}
