//! The dependency graph of a composed layer, for `cargo xtask graph` and for humans.
//!
//! Each leaf layer is a node (shared leaves appear once, as they are built once); an edge goes
//! from the layer that provides a service to the layer that requires it.

use std::collections::HashMap;
use std::fmt::Write;

use super::context::ServiceKey;
use super::error::DuplicateProvider;
use super::layer::{Kind, Layer};

/// One leaf layer in the graph.
#[derive(Debug, Clone)]
pub struct GraphNode {
    pub name: String,
    pub requires: Vec<String>,
    pub provides: Vec<String>,
    pub fresh: bool,
}

/// `from` provides `service` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub service: String,
}

#[derive(Debug, Clone, Default)]
pub struct LayerGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Services provided twice without an override (the build refuses such a graph).
    pub duplicates: Vec<DuplicateProvider>,
}

impl Layer {
    /// The leaf layers of this graph and which provides what to whom.
    pub fn graph(&self) -> LayerGraph {
        let mut walker = Walker::default();
        walker.walk(self, &HashMap::new(), false);
        walker.graph.duplicates = self.duplicate_providers();
        walker.graph
    }

    /// Services that two distinct leaf layers of this composition provide, unless one of them
    /// declares that it overrides the service. A leaf used in several places (or `fresh`) is one
    /// provider. Checked before anything is built.
    pub fn duplicate_providers(&self) -> Vec<DuplicateProvider> {
        /// A leaf providing a service, and whether it declares that it overrides it.
        struct Provider {
            name: String,
            overrides: bool,
        }
        let mut providers: Vec<(ServiceKey, Vec<Provider>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        self.for_each_leaf(&mut |layer, provides, overrides| {
            if !seen.insert(layer.id()) {
                return;
            }
            for key in provides {
                let entry = match providers.iter_mut().find(|(k, _)| k == key) {
                    Some(entry) => entry,
                    None => {
                        providers.push((*key, Vec::new()));
                        providers.last_mut().expect("just pushed")
                    }
                };
                entry.1.push(Provider {
                    name: layer.display_name(),
                    overrides: overrides.contains(key),
                });
            }
        });
        providers
            .into_iter()
            .filter(|(_, leaves)| leaves.len() > 1 && !leaves.iter().any(|p| p.overrides))
            .map(|(key, leaves)| DuplicateProvider {
                service: key.name(),
                layers: leaves.into_iter().map(|p| p.name).collect(),
            })
            .collect()
    }

    fn for_each_leaf(&self, visit: &mut LeafVisitor<'_>) {
        match &self.node.kind {
            Kind::Leaf {
                provides,
                overrides,
                ..
            } => visit(self, provides, overrides),
            Kind::Provide { deps, target, .. } => {
                deps.for_each_leaf(visit);
                target.for_each_leaf(visit);
            }
            Kind::Merge(children) => children.iter().for_each(|c| c.for_each_leaf(visit)),
            Kind::Fresh(inner) => inner.for_each_leaf(visit),
        }
    }
}

/// Called with each leaf layer, what it provides and what it overrides.
type LeafVisitor<'a> = dyn FnMut(&Layer, &[ServiceKey], &[ServiceKey]) + 'a;

#[derive(Default)]
struct Walker {
    graph: LayerGraph,
    seen: HashMap<usize, usize>,
}

impl Walker {
    /// Returns the services `layer` outputs, mapped to the node index that provides each.
    fn walk(
        &mut self,
        layer: &Layer,
        env: &HashMap<ServiceKey, usize>,
        fresh: bool,
    ) -> HashMap<ServiceKey, usize> {
        match &layer.node.kind {
            Kind::Leaf {
                requires, provides, ..
            } => {
                let index = match (fresh, self.seen.get(&layer.id())) {
                    (false, Some(index)) => *index,
                    _ => {
                        let index = self.graph.nodes.len();
                        self.graph.nodes.push(GraphNode {
                            name: layer.display_name(),
                            requires: requires.iter().map(|k| k.name().to_string()).collect(),
                            provides: provides.iter().map(|k| k.name().to_string()).collect(),
                            fresh,
                        });
                        self.seen.insert(layer.id(), index);
                        index
                    }
                };
                for key in requires {
                    if let Some(&from) = env.get(key) {
                        let edge = GraphEdge {
                            from,
                            to: index,
                            service: key.name().to_string(),
                        };
                        if !self.graph.edges.contains(&edge) {
                            self.graph.edges.push(edge);
                        }
                    }
                }
                provides.iter().map(|k| (*k, index)).collect()
            }
            Kind::Provide {
                deps,
                target,
                keep_deps,
            } => {
                let dep_out = self.walk(deps, env, false);
                let mut inner = env.clone();
                inner.extend(dep_out.iter().map(|(k, v)| (*k, *v)));
                let out = self.walk(target, &inner, false);
                if *keep_deps {
                    let mut all = dep_out;
                    all.extend(out);
                    all
                } else {
                    out
                }
            }
            Kind::Merge(children) => {
                let mut out = HashMap::new();
                for child in children {
                    out.extend(self.walk(child, env, false));
                }
                out
            }
            Kind::Fresh(inner) => self.walk(inner, env, true),
        }
    }
}

impl LayerGraph {
    /// A plain-text listing: one line per layer with what it requires (and from whom).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (index, node) in self.nodes.iter().enumerate() {
            let from: Vec<String> = node
                .requires
                .iter()
                .map(|service| {
                    match self
                        .edges
                        .iter()
                        .find(|e| e.to == index && &e.service == service)
                    {
                        Some(edge) => format!("{service} <- {}", self.nodes[edge.from].name),
                        None => format!("{service} <- (input)"),
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "{}{}\n  provides: {}\n  requires: {}",
                node.name,
                if node.fresh { " (fresh)" } else { "" },
                join_or_dash(&node.provides),
                join_or_dash(&from),
            );
        }
        for duplicate in &self.duplicates {
            let _ = writeln!(out, "DUPLICATE: {duplicate}");
        }
        out
    }

    /// A Mermaid flowchart (`graph TD`) of the same graph.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("graph TD\n");
        for (index, node) in self.nodes.iter().enumerate() {
            let _ = writeln!(out, "  L{index}[\"{}\"]", node.name.replace('"', "'"));
        }
        for edge in &self.edges {
            let _ = writeln!(out, "  L{} -->|{}| L{}", edge.from, edge.service, edge.to);
        }
        out
    }
}

fn join_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(", ")
    }
}
