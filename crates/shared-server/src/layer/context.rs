//! A typed map of built services: what a layer receives and what it provides.
//!
//! Services are stored as `Arc<T>` keyed by `TypeId`, so trait objects work too:
//! `ctx.get::<dyn ObjectStore>()` returns `Arc<dyn ObjectStore>`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Identifies a service type: its `TypeId` plus a readable name for errors and graphs.
#[derive(Clone, Copy)]
pub struct ServiceKey {
    id: TypeId,
    name: &'static str,
}

impl ServiceKey {
    pub fn of<T: ?Sized + 'static>() -> Self {
        Self {
            id: TypeId::of::<T>(),
            name: short_type_name(std::any::type_name::<T>()),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl PartialEq for ServiceKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for ServiceKey {}
impl std::hash::Hash for ServiceKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// `shared_server::db::Db` -> `Db`; `dyn shared_server::storage::ObjectStore` -> `ObjectStore`.
fn short_type_name(full: &'static str) -> &'static str {
    // Strip the module path of the outer type; generic arguments stay as they are.
    let head_end = full.find('<').unwrap_or(full.len());
    match full[..head_end].rfind("::") {
        Some(i) => &full[i + 2..],
        None => full.strip_prefix("dyn ").unwrap_or(full),
    }
}

/// Returned when a service is not in the context.
#[derive(Debug, Clone, thiserror::Error)]
#[error("service `{service}` is not in the context")]
pub struct MissingService {
    pub service: &'static str,
}

type Services = HashMap<ServiceKey, Arc<dyn Any + Send + Sync>>;

/// A typed map of services. Cloning is one reference-count increment (handlers and middleware
/// clone it per request); adding a service copies the map only if it is shared.
#[derive(Clone, Default)]
pub struct Context {
    services: Arc<Services>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a service by value.
    pub fn insert<T: Send + Sync + 'static>(&mut self, service: T) -> &mut Self {
        self.insert_arc::<T>(Arc::new(service))
    }

    /// Adds a shared service; `T` may be a trait object (`dyn ObjectStore`).
    pub fn insert_arc<T: ?Sized + Send + Sync + 'static>(&mut self, service: Arc<T>) -> &mut Self {
        Arc::make_mut(&mut self.services).insert(
            ServiceKey::of::<T>(),
            Arc::new(service) as Arc<dyn Any + Send + Sync>,
        );
        self
    }

    /// Builder form of [`Context::insert`].
    pub fn with<T: Send + Sync + 'static>(mut self, service: T) -> Self {
        self.insert(service);
        self
    }

    /// Builder form of [`Context::insert_arc`].
    pub fn with_arc<T: ?Sized + Send + Sync + 'static>(mut self, service: Arc<T>) -> Self {
        self.insert_arc(service);
        self
    }

    /// The service of type `T`, or an error naming it.
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Arc<T>, MissingService> {
        self.services
            .get(&ServiceKey::of::<T>())
            .and_then(|any| any.downcast_ref::<Arc<T>>())
            .cloned()
            .ok_or_else(|| MissingService {
                service: ServiceKey::of::<T>().name,
            })
    }

    pub fn contains<T: ?Sized + 'static>(&self) -> bool {
        self.contains_key(&ServiceKey::of::<T>())
    }

    pub fn contains_key(&self, key: &ServiceKey) -> bool {
        self.services.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &ServiceKey> {
        self.services.keys()
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Adds every service of `other`; on a clash `other` wins (as in Effect's `merge`).
    pub fn merge(&mut self, other: &Context) {
        if other.services.is_empty() {
            return;
        }
        let services = Arc::make_mut(&mut self.services);
        for (k, v) in other.services.iter() {
            services.insert(*k, v.clone());
        }
    }

    /// A context holding only the given keys (those present).
    pub(crate) fn project(&self, keys: &[ServiceKey]) -> Context {
        let services = keys
            .iter()
            .filter_map(|k| self.services.get_key_value(k).map(|(k, v)| (*k, v.clone())))
            .collect();
        Context {
            services: Arc::new(services),
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.services.keys().map(|k| k.name).collect();
        names.sort_unstable();
        f.debug_struct("Context").field("services", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Greeter: Send + Sync {
        fn hi(&self) -> String;
    }
    struct En;
    impl Greeter for En {
        fn hi(&self) -> String {
            "hi".into()
        }
    }

    #[test]
    fn stores_values_and_trait_objects() {
        let ctx = Context::new()
            .with(42u32)
            .with_arc::<dyn Greeter>(Arc::new(En));
        assert_eq!(*ctx.get::<u32>().unwrap(), 42);
        assert_eq!(ctx.get::<dyn Greeter>().unwrap().hi(), "hi");
        let err = ctx.get::<String>().unwrap_err();
        assert_eq!(err.service, "String");
        assert_eq!(ServiceKey::of::<dyn Greeter>().name(), "Greeter");
    }
}
