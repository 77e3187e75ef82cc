//! The registries: which sessions exist, per owner scope, and how they are found. Bookkeeping only:
//! what a CIM session does is its provider's (`crate::cim::provider`), what carries a PSSession is its
//! transport's (`crate::transport`).
//! - [`cim`]: CIM sessions (spec/cmdlet-behaviour.md §1.2–§1.6);
//! - [`ps`]: PowerShell sessions, their state and transport (§2.1, §2.5, §2.6);
//! - [`lookup`]: scopes and lookup kinds, shared by both.

pub mod cim;
pub mod lookup;
pub mod ps;
