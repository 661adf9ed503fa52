//! Repositories of the shared tables (slices.md §0.6, §1.2).
