//! Row types of the shared tables (slices.md §1.1).
