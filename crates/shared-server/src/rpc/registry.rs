//! Groups that add up: every slice provides its own group as a service of its own type
//! (`SharedRpc`, `DocumentsRpc`, ..., declared with [`slice_rpc!`](crate::slice_rpc)), and the
//! runtime lists them in one table of [`GroupEntry`]s. [`RpcRegistry::collect`] reads them all and
//! refuses, naming both sides, two groups with one name (one path) and a tag declared twice, so a
//! lost group is a start-up error instead of a silent replacement.

use std::collections::BTreeMap;

use super::group::RpcGroup;
use crate::layer::{Context, LayerBuilder};

/// A slice's RPC group as a layer service.
pub trait SliceRpc: Send + Sync + 'static {
    fn group(&self) -> &RpcGroup;
}

/// Declares a slice's group service: `slice_rpc!(/// docs DocumentsRpc);` gives
/// `pub struct DocumentsRpc(pub RpcGroup)` implementing [`SliceRpc`].
#[macro_export]
macro_rules! slice_rpc {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub $crate::rpc::RpcGroup);

        impl $crate::rpc::SliceRpc for $name {
            fn group(&self) -> &$crate::rpc::RpcGroup {
                &self.0
            }
        }
    };
}

/// One row of the runtime's group table: the service that holds a group.
#[derive(Clone, Copy)]
pub struct GroupEntry {
    service: &'static str,
    fetch: fn(&Context) -> Option<RpcGroup>,
    require: fn(LayerBuilder) -> LayerBuilder,
}

impl std::fmt::Debug for GroupEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.service)
    }
}

impl GroupEntry {
    /// The group held by service `T`.
    pub fn of<T: SliceRpc>() -> Self {
        Self {
            service: short_type_name::<T>(),
            fetch: |ctx| ctx.get::<T>().ok().map(|rpc| rpc.group().clone()),
            require: |builder| builder.requires::<T>(),
        }
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Declares the requirement on a layer, so the graph validation names a missing group.
    pub fn require(&self, builder: LayerBuilder) -> LayerBuilder {
        (self.require)(builder)
    }
}

/// Why the groups cannot be served together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("RPC group `{name}` (path /v1/{name}/rpc) is provided twice: by {first} and by {second}; give one of them another name")]
    DuplicateGroup {
        name: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("RPC tag `{tag}` is declared twice in group `{group}` ({service}); each tag is served once per path")]
    DuplicateTag {
        group: String,
        tag: String,
        service: &'static str,
    },
    #[error("RPC group service {service} is listed in the group table but no layer provides it")]
    Missing { service: &'static str },
}

/// Every group the server serves, checked.
#[derive(Debug, Clone, Default)]
pub struct RpcRegistry {
    groups: Vec<(&'static str, RpcGroup)>,
}

impl RpcRegistry {
    /// Reads every entry's group from `ctx` and checks names and tags.
    pub fn collect(ctx: &Context, entries: &[GroupEntry]) -> Result<Self, RegistryError> {
        let mut registry = Self::default();
        for entry in entries {
            let group = (entry.fetch)(ctx).ok_or(RegistryError::Missing {
                service: entry.service,
            })?;
            registry = registry.with(entry.service, group)?;
        }
        Ok(registry)
    }

    /// Adds `group`, held by `service`.
    pub fn with(mut self, service: &'static str, group: RpcGroup) -> Result<Self, RegistryError> {
        if let Some((first, _)) = self.groups.iter().find(|(_, g)| g.name() == group.name()) {
            return Err(RegistryError::DuplicateGroup {
                name: group.name().to_string(),
                first,
                second: service,
            });
        }
        if let Some(tag) = group.duplicate_tags().first() {
            return Err(RegistryError::DuplicateTag {
                group: group.name().to_string(),
                tag: tag.clone(),
                service,
            });
        }
        self.groups.push((service, group));
        Ok(self)
    }

    pub fn groups(&self) -> impl Iterator<Item = &RpcGroup> {
        self.groups.iter().map(|(_, group)| group)
    }

    /// One line per group: path, service, procedure count (for the start-up log and `graph`).
    pub fn table(&self) -> BTreeMap<String, (&'static str, usize)> {
        self.groups
            .iter()
            .map(|(service, group)| (group.path(), (*service, group.procedures().count())))
            .collect()
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::ProcedureError;
    use std::sync::Arc;

    async fn ok(_: Arc<()>, _: (), _: ()) -> Result<(), ProcedureError> {
        Ok(())
    }

    fn group(name: &str, tags: &[&str]) -> RpcGroup {
        tags.iter()
            .fold(RpcGroup::with_state(name, ()), |g, tag| g.public(tag, ok))
            .build()
    }

    #[test]
    fn two_groups_with_one_name_are_refused_naming_both() {
        let error = RpcRegistry::default()
            .with("SharedRpc", group("shared", &["a"]))
            .unwrap()
            .with("OtherRpc", group("shared", &["b"]))
            .unwrap_err();
        assert_eq!(
            error,
            RegistryError::DuplicateGroup {
                name: "shared".into(),
                first: "SharedRpc",
                second: "OtherRpc"
            }
        );
        assert!(error.to_string().contains("SharedRpc") && error.to_string().contains("OtherRpc"));
    }

    #[test]
    fn a_tag_declared_twice_is_refused() {
        let error = RpcRegistry::default()
            .with("DocsRpc", group("docs", &["Document.get", "Document.get"]))
            .unwrap_err();
        assert!(
            matches!(error, RegistryError::DuplicateTag { ref tag, .. } if tag == "Document.get")
        );
    }

    #[test]
    fn distinct_groups_add_up() {
        let registry = RpcRegistry::default()
            .with("SharedRpc", group("shared", &["getHealth"]))
            .unwrap()
            .with("DocsRpc", group("docs", &["Document.get", "Document.list"]))
            .unwrap();
        let table = registry.table();
        assert_eq!(table["/v1/shared/rpc"], ("SharedRpc", 1));
        assert_eq!(table["/v1/docs/rpc"], ("DocsRpc", 2));
    }
}
