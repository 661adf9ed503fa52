//! The shared slice's migrations (run first: every slice references its tables).
