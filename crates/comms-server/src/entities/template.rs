//! `comms_email_template`: an organization's own version of an email (subject, HTML and text
//! bodies with `{{ placeholders }}`, default recipients). A template named like a built-in one
//! overrides it for that organization; deleting it brings the built-in back.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shared_server::db::repo::{Entity, NewRow, NoFilter, OrgScoped, PatchRow};
use shared_server::db::{RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::mail::{is_valid_template_name, EmailAddress};
use shared_server::Timestamp;

use super::{addresses_from_json, addresses_json};
use crate::services::renderer::placeholders;

shared_server::entity_id!(
    /// Id of a `comms_email_template` row.
    EmailTemplateId,
    "comms_email_template"
);

/// The quoted `to` column (`to` is an SQL keyword).
pub(crate) const TO_COLUMN: &str = "\"to\"";

/// A `comms_email_template` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailTemplate {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: EmailTemplateId,
    pub organization_id: OrganizationId,
    /// The author.
    pub user_id: UserId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub subject: String,
    pub body_html: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// JSON array of default recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcc: Option<Json>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

/// Default recipients of a template: `(to, cc, bcc)`.
pub type DefaultRecipients = (Vec<EmailAddress>, Vec<EmailAddress>, Vec<EmailAddress>);

impl EmailTemplate {
    /// The default recipients.
    pub fn default_recipients(&self) -> Result<DefaultRecipients, String> {
        Ok((
            addresses_from_json("template.to", self.to.as_ref())?,
            addresses_from_json("template.cc", self.cc.as_ref())?,
            addresses_from_json("template.bcc", self.bcc.as_ref())?,
        ))
    }
}

impl Entity for EmailTemplate {
    type Id = EmailTemplateId;
    type New = NewEmailTemplate;
    type Patch = EmailTemplatePatch;
    type Filter = NoFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "comms_email_template";
    const NAME: &'static str = "EmailTemplate";

    fn id(&self) -> &EmailTemplateId {
        &self.id
    }

    shared_server::repo_spans!("EmailTemplateRepo");
}

/// A template to insert (the organization is the repository call's `org`). Validated again
/// when it becomes column values, so a bad template never reaches the table.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEmailTemplate {
    pub user_id: UserId,
    pub name: String,
    pub description: Option<String>,
    pub subject: String,
    pub body_html: String,
    pub body_text: Option<String>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub source: Option<String>,
}

impl NewRow for NewEmailTemplate {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        check_name(&self.name)?;
        check_source("subject", &self.subject)?;
        check_source("bodyHtml", &self.body_html)?;
        if let Some(text) = &self.body_text {
            check_source("bodyText", text)?;
        }
        Ok(vec![
            ("user_id", self.user_id.as_str().into()),
            ("name", self.name.into()),
            ("description", self.description.into()),
            ("subject", self.subject.into()),
            ("body_html", self.body_html.into()),
            ("body_text", self.body_text.into()),
            (TO_COLUMN, addresses_json(&self.to, true).into()),
            ("cc", addresses_json(&self.cc, true).into()),
            ("bcc", addresses_json(&self.bcc, true).into()),
            ("source", self.source.into()),
        ])
    }
}

/// A partial update of a template (`Some(None)` clears a nullable column; an empty recipient
/// list clears the defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmailTemplatePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub subject: Option<String>,
    pub body_html: Option<String>,
    pub body_text: Option<Option<String>>,
    pub to: Option<Vec<EmailAddress>>,
    pub cc: Option<Vec<EmailAddress>>,
    pub bcc: Option<Vec<EmailAddress>>,
}

impl PatchRow for EmailTemplatePatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut columns: Vec<(&'static str, SqlValue)> = Vec::new();
        if let Some(name) = self.name {
            check_name(&name)?;
            columns.push(("name", name.into()));
        }
        if let Some(description) = self.description {
            columns.push(("description", description.into()));
        }
        if let Some(subject) = self.subject {
            check_source("subject", &subject)?;
            columns.push(("subject", subject.into()));
        }
        if let Some(html) = self.body_html {
            check_source("bodyHtml", &html)?;
            columns.push(("body_html", html.into()));
        }
        if let Some(text) = self.body_text {
            if let Some(text) = &text {
                check_source("bodyText", text)?;
            }
            columns.push(("body_text", text.into()));
        }
        for (column, list) in [(TO_COLUMN, self.to), ("cc", self.cc), ("bcc", self.bcc)] {
            if let Some(list) = list {
                columns.push((column, addresses_json(&list, true).into()));
            }
        }
        Ok(columns)
    }
}

fn check_name(name: &str) -> Result<(), RepoError> {
    if is_valid_template_name(name) {
        Ok(())
    } else {
        Err(RepoError::Invalid {
            message: format!(
                "template name `{}` must match ^[a-z0-9][a-z0-9._-]{{0,63}}$",
                name.chars().take(80).collect::<String>()
            ),
        })
    }
}

fn check_source(field: &str, source: &str) -> Result<(), RepoError> {
    if field != "bodyText" && source.trim().is_empty() {
        return Err(RepoError::Invalid {
            message: format!("{field} is empty"),
        });
    }
    placeholders(field, source)
        .map(|_| ())
        .map_err(|e| RepoError::Invalid {
            message: e.to_string(),
        })
}
