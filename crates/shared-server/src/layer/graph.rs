//! The dependency graph of a composed layer, for `cargo xtask graph` and for humans.
//!
//! Each leaf layer is a node (shared leaves appear once, as they are built once); an edge goes
//! from the layer that provides a service to the layer that requires it.

use std::collections::HashMap;
use std::fmt::Write;

use super::context::ServiceKey;
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
}

impl Layer {
    /// The leaf layers of this graph and which provides what to whom.
    pub fn graph(&self) -> LayerGraph {
        let mut walker = Walker::default();
        walker.walk(self, &HashMap::new(), false);
        walker.graph
    }
}

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
