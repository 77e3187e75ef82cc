//! CIM session registry (placeholder until written).
