//! What both registries share: owner scopes and the ways sessions are looked up
//! (spec/cmdlet-behaviour.md §1.5, §2.5).

/// Identifies an owner scope (a PowerShell runspace, or a part of a C program) inside a registry.
pub type ScopeId = u64;

/// The scope that exists from the start (C callers that make no scope of their own).
pub const DEFAULT_SCOPE: ScopeId = 0;

/// How a registry's `find` reads its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Every session of the scope; values are ignored.
    All,
    /// Decimal Ids.
    Id,
    /// Names or case-insensitive wildcard patterns (`*`, `?`, `[abc]`, `[a-z]`, backtick escapes).
    Name,
    /// Computer names, exact and case-insensitive.
    ComputerName,
    /// InstanceIds in GUID form.
    InstanceId,
}
