//! Local provider (placeholder until written).
