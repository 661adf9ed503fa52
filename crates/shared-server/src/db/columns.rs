//! `Columns`: the `(column, SqlValue)` list an entity's `New…`/`…Patch` struct becomes
//! (slices.md §0.6, `NewRow`/`PatchRow`), written once for every slice (issue 19, point 4).

use super::{RepoError, SqlValue};

/// A column list being built: `set` always writes, `patch` writes only when the field is set.
///
/// ```ignore
/// let mut columns = Columns::default();
/// columns.set("title", title).patch("description", patch.description);
/// columns.finish()
/// ```
#[derive(Debug, Default)]
pub struct Columns(Vec<(&'static str, SqlValue)>);

impl Columns {
    pub fn set(&mut self, column: &'static str, value: impl Into<SqlValue>) -> &mut Self {
        self.0.push((column, value.into()));
        self
    }

    pub fn patch<V: Into<SqlValue>>(
        &mut self,
        column: &'static str,
        value: Option<V>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.0.push((column, value.into()));
        }
        self
    }

    /// The list, for `NewRow::into_columns` / `PatchRow::into_columns`.
    pub fn finish(self) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        Ok(self.0)
    }
}
