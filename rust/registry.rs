//! CIM sessions per owner scope (spec/cmdlet-behaviour.md §1.2–§1.6).
//!
//! A scope is what owns sessions: a PowerShell runspace, or a part of a C program. Ids count from 1 in
//! each scope and are consumed only when a session is actually added; a session's default name is
//! `CimSession<Id>`. Lookups are by Id, name (case-insensitive wildcards), computer name (exact,
//! case-insensitive) and InstanceId. Removing a session marks it removed, so references held elsewhere
//! (C handles, PowerShell objects) fail cleanly instead of reaching a dead session.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use crate::cim::class::ClassSchema;
use crate::cim::{wql, CimInstance};
use crate::error::{Error, ErrorKind, Result};
use crate::local::{self, OperationFlags};
use crate::transport::Cancel;
use crate::wsman::client::{Authentication, Credential, Enumeration, WsmanClient};
use crate::wsman::envelope::{Association, DIALECT_CQL, DIALECT_WQL};

/// Identifies an owner scope inside one [`Registry`].
pub type ScopeId = u64;

/// The protocol a caller asks for (New-CimSessionOption -Protocol, spec §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// DCOM for this machine, WS-Management for a named computer (spec §1.3 step 6).
    #[default]
    Default,
    Dcom,
    Wsman,
}

/// Session options: New-CimSessionOption's values plus New-CimSession's -Port and -OperationTimeoutSec.
/// Only `protocol` decides anything for local sessions; the WS-Management members are kept for the
/// WS-Management transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionOptions {
    pub protocol: Protocol,
    pub use_ssl: bool,
    pub skip_ca_check: bool,
    pub skip_cn_check: bool,
    pub skip_revocation_check: bool,
    pub no_encryption: bool,
    pub encode_port_in_spn: bool,
    /// Largest SOAP envelope in KiB; 0 = the default.
    pub max_envelope_size_kb: u32,
    /// Culture name such as `en-US`.
    pub culture: Option<String>,
    pub ui_culture: Option<String>,
    /// Operation timeout in milliseconds; 0 = the default.
    pub timeout_ms: u32,
    /// Destination port; 0 = the scheme's default.
    pub port: u32,
    /// The URL path of the WS-Management service (New-CimSessionOption -HttpPrefix); None = `wsman`.
    pub http_prefix: Option<String>,
}

/// What serves a session's operations.
#[derive(Debug, Clone)]
pub enum Backend {
    /// This machine's in-process provider (no -ComputerName).
    Local,
    /// A WS-Management server.
    Wsman(Arc<WsmanClient>),
}

impl Backend {
    /// The backend for New-CimSession's target (spec §1.3 step 6): no computer and no WS-Man options ⇒
    /// this machine's provider; a computer, or WS-Man options ⇒ WS-Management (to `localhost` when no
    /// computer is named). Opens no connection.
    /// Errors: InvalidArgument (empty computer name; see [`WsmanClient::new`]), NotSupported (DCOM to
    /// another computer; authentication mechanisms not available yet).
    pub fn for_target(computer: Option<&str>, options: &SessionOptions, credential: Option<&Credential>, authentication: Authentication) -> Result<Backend> {
        match (computer, options.protocol) {
            (Some(""), _) => Err(Error::new(ErrorKind::InvalidArgument, "The computer name is empty")),
            (Some(computer), Protocol::Dcom) => Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "DCOM is not available on this platform, so '{computer}' cannot be reached over DCOM. \
                     Use WS-Management (New-CimSessionOption -Protocol Wsman) instead."
                ),
            )),
            (Some(computer), _) => Ok(Backend::Wsman(Arc::new(WsmanClient::new(computer, options, credential, authentication)?))),
            (None, Protocol::Wsman) => Ok(Backend::Wsman(Arc::new(WsmanClient::new("localhost", options, credential, authentication)?))),
            (None, _) => Ok(Backend::Local),
        }
    }
}

/// The instances of an operation, handed out one at a time: all at hand for the local provider, or
/// arriving page by page from a WS-Management server.
pub enum Instances {
    Ready(VecDeque<CimInstance>),
    Remote(Box<Enumeration>),
}

impl Instances {
    /// The next instance, or None at the end. Errors: what the server or transport reports.
    pub fn next(&mut self) -> Result<Option<CimInstance>> {
        match self {
            Instances::Ready(items) => Ok(items.pop_front()),
            Instances::Remote(e) => e.next(),
        }
    }
}

/// One registered CIM session.
#[derive(Debug)]
pub struct CimSession {
    pub id: u32,
    pub name: String,
    pub instance_id: Uuid,
    /// As the caller gave it, not resolved; `localhost` for a local session.
    pub computer_name: String,
    pub options: SessionOptions,
    pub backend: Backend,
    scope: ScopeId,
    removed: AtomicBool,
}

/// The default CIM namespace (`root\cimv2`, spec §1.7), in slash form.
pub const DEFAULT_NAMESPACE: &str = "root/cimv2";

impl CimSession {
    /// `Local` for the in-process provider, `WSMAN` for WS-Management (spec §1.1).
    pub fn protocol_name(&self) -> &'static str {
        match self.backend {
            Backend::Local => "Local",
            Backend::Wsman(_) => "WSMAN",
        }
    }

    /// True once the session was removed from its scope.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    /// Instances of `class_name` in `namespace` (None = root/cimv2), deep unless `flags.shallow`.
    /// Over WS-Management the first page is read here and the rest as the caller goes on; `cancel`
    /// stops the wire operation.
    /// Errors: SessionRemoved, InvalidNamespace, InvalidClass, Io; the server's faults, network errors.
    pub fn enumerate(&self, namespace: Option<&str>, class_name: &str, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        self.check_live()?;
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        match &self.backend {
            Backend::Local => Ok(Instances::Ready(local::enumerate(namespace, class_name, flags)?.into())),
            Backend::Wsman(client) => {
                let e = client.enumerate(namespace, class_name, None, flags.keys_only, flags.shallow, cancel)?;
                Ok(Instances::Remote(Box::new(e)))
            }
        }
    }

    /// Runs a query; `dialect` None or `WQL` (case-insensitive), and over WS-Management also `CQL` —
    /// any other dialect is NotSupported. Locally the query is parsed and run here; a WS-Management
    /// server gets it as the Enumerate filter.
    /// Errors: SessionRemoved, NotSupported, InvalidQuery, InvalidNamespace, InvalidClass, Io; the
    /// server's faults, network errors.
    pub fn query(&self, namespace: Option<&str>, dialect: Option<&str>, text: &str, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        self.check_live()?;
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        let dialect = dialect.unwrap_or("WQL");
        match &self.backend {
            Backend::Local => {
                if !dialect.eq_ignore_ascii_case("WQL") {
                    return Err(Error::new(ErrorKind::NotSupported, format!("Query dialect '{dialect}' is not supported here; use WQL")));
                }
                let query = wql::parse(text)?;
                Ok(Instances::Ready(local::query(namespace, &query, flags)?.into()))
            }
            Backend::Wsman(client) => {
                let uri = if dialect.eq_ignore_ascii_case("WQL") {
                    DIALECT_WQL
                } else if dialect.eq_ignore_ascii_case("CQL") || dialect.eq_ignore_ascii_case("DMTF:CQL") {
                    DIALECT_CQL
                } else {
                    return Err(Error::new(ErrorKind::NotSupported, format!("Query dialect '{dialect}' is not supported; use WQL or CQL")));
                };
                // The class the query selects from names the instances of a projection (Windows'
                // w:XmlFragment items) and picks the class declaration that types them.
                let class = wql::parse(text).map(|q| q.class_name).unwrap_or_default();
                let e = client.enumerate(namespace, &class, Some((uri, text)), flags.keys_only, flags.shallow, cancel)?;
                Ok(Instances::Remote(Box::new(e)))
            }
        }
    }

    /// The instances associated with (or, for [`Association::References`], the association instances
    /// referring to) the instance of `class_name` with the key values `keys` (Get-CimAssociatedInstance,
    /// spec §1.8); `flags.keys_only` gives them with only their keys.
    /// The local provider serves no association classes: after checking the namespace and every class
    /// named, it answers with no instances.
    /// Errors: SessionRemoved, InvalidNamespace, InvalidClass; the server's faults, network errors.
    pub fn associated(&self, namespace: Option<&str>, class_name: &str, keys: &[(String, String)], association: &Association, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        self.check_live()?;
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        match &self.backend {
            Backend::Wsman(client) => {
                let e = client.associated(namespace, class_name, keys, association, flags.keys_only, cancel)?;
                Ok(Instances::Remote(Box::new(e)))
            }
            Backend::Local => {
                let served = local::class_names(namespace)?;
                let (first, second) = match association {
                    Association::Associated { association_class, result_class, .. } => (association_class, result_class),
                    Association::References { result_class, .. } => (result_class, &None),
                };
                let named = std::iter::once(class_name).chain(first.as_deref()).chain(second.as_deref());
                for class in named.filter(|c| !c.is_empty()) {
                    if !served.iter().any(|s| s.eq_ignore_ascii_case(class)) {
                        return Err(Error::invalid_class(class));
                    }
                }
                Ok(Instances::Ready(VecDeque::new()))
            }
        }
    }

    /// The instance of `class_name` with the key values `keys` (property name, value as text)
    /// (Get-CimInstance -InputObject). Over WS-Management a WS-Transfer Get; locally a query on the keys.
    /// Errors: NotFound when no instance has those keys; InvalidClass, InvalidNamespace,
    /// SessionRemoved; the server's faults and network errors.
    pub fn get(&self, namespace: Option<&str>, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<CimInstance> {
        self.check_live()?;
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        match &self.backend {
            Backend::Wsman(client) => client.get(namespace, class_name, keys, cancel),
            Backend::Local => {
                let mut text = format!("SELECT * FROM {class_name}");
                for (i, (name, value)) in keys.iter().enumerate() {
                    let literal = value.replace('\\', "\\\\").replace('\'', "\\'");
                    text.push_str(&format!("{} {name} = '{literal}'", if i == 0 { " WHERE" } else { " AND" }));
                }
                let query = wql::parse(&text)?;
                local::query(namespace, &query, OperationFlags::default())?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("Not found: no {class_name} instance has those keys")))
            }
        }
    }

    /// Creates an instance of `class_name` with `properties` (New-CimInstance); returns it as the server
    /// has it. Errors: NotSupported for the local provider, which is read-only; SessionRemoved; over
    /// WS-Management the server's faults and network errors.
    pub fn create_instance(&self, namespace: Option<&str>, class_name: &str, properties: &[crate::cim::CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        self.check_live()?;
        self.wsman("Creating instances")?.create(namespace.unwrap_or(DEFAULT_NAMESPACE), class_name, properties, cancel)
    }

    /// Changes the instance of `class_name` with the key values `keys` to `properties`
    /// (Set-CimInstance); returns it as the server then has it. Errors: as [`CimSession::create_instance`],
    /// and NotFound.
    pub fn modify_instance(&self, namespace: Option<&str>, class_name: &str, keys: &[(String, String)], properties: &[crate::cim::CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        self.check_live()?;
        self.wsman("Changing instances")?.put(namespace.unwrap_or(DEFAULT_NAMESPACE), class_name, keys, properties, cancel)
    }

    /// Deletes the instance of `class_name` with the key values `keys` (Remove-CimInstance).
    /// Errors: as [`CimSession::create_instance`], and NotFound.
    pub fn delete_instance(&self, namespace: Option<&str>, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<()> {
        self.check_live()?;
        self.wsman("Deleting instances")?.delete(namespace.unwrap_or(DEFAULT_NAMESPACE), class_name, keys, cancel)
    }

    /// The WS-Management client, or NotSupported naming `what` for the local provider (read-only).
    fn wsman(&self, what: &str) -> Result<&WsmanClient> {
        match &self.backend {
            Backend::Wsman(client) => Ok(client),
            Backend::Local => Err(Error::new(ErrorKind::NotSupported, format!("{what} is not supported on this machine: its provider only reads /proc, /sys and /etc"))),
        }
    }

    /// Invokes `method` of `class_name` on the instance with the key values `keys`, or statically when
    /// `keys` is empty, with the in-parameters `params` (Invoke-CimMethod). The result holds
    /// `ReturnValue` and the out-parameters.
    /// Errors: MethodNotFound (the local provider's classes declare no methods), SessionRemoved; over
    /// WS-Management the server's faults and network errors.
    pub fn invoke(&self, namespace: Option<&str>, class_name: &str, keys: &[(String, String)], method: &str, params: &[crate::cim::CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        self.check_live()?;
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        match &self.backend {
            Backend::Wsman(client) => client.invoke(namespace, class_name, keys, method, params, cancel),
            Backend::Local => {
                local::class_names(namespace)?;
                Err(Error::new(ErrorKind::MethodNotFound, format!("Method '{method}' is not defined by class '{class_name}' on this machine")))
            }
        }
    }

    /// Class names served in `namespace` (None = root/cimv2): the local provider's, or over
    /// WS-Management the names of [`CimSession::classes`].
    /// Errors: SessionRemoved, InvalidNamespace; over WS-Management as for [`CimSession::classes`].
    pub fn class_names(&self, namespace: Option<&str>) -> Result<Vec<String>> {
        self.check_live()?;
        match &self.backend {
            Backend::Local => local::class_names(namespace.unwrap_or(DEFAULT_NAMESPACE)),
            Backend::Wsman(_) => Ok(self.classes(namespace, None)?.into_iter().map(|c| c.name).collect()),
        }
    }

    /// The declaration of `class_name` in `namespace` (None = root/cimv2; Get-CimClass): over
    /// WS-Management a GetClass, locally the provider's declaration.
    /// Errors: SessionRemoved, InvalidNamespace, InvalidClass; the server's faults, network errors.
    pub fn get_class(&self, namespace: Option<&str>, class_name: &str, cancel: Option<&Cancel>) -> Result<Arc<ClassSchema>> {
        self.check_live()?;
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        match &self.backend {
            Backend::Local => Ok(Arc::new(local::class(namespace, class_name)?)),
            Backend::Wsman(client) => client.get_class(namespace, class_name, cancel),
        }
    }

    /// Every class declaration in `namespace` (None = root/cimv2; Get-CimClass with a wildcard).
    /// Errors: SessionRemoved, InvalidNamespace; over WS-Management the server's faults (not every
    /// server enumerates classes) and network errors.
    pub fn classes(&self, namespace: Option<&str>, cancel: Option<Arc<Cancel>>) -> Result<Vec<ClassSchema>> {
        self.check_live()?;
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        match &self.backend {
            Backend::Local => local::classes(namespace),
            Backend::Wsman(client) => client.classes(namespace, cancel),
        }
    }

    fn check_live(&self) -> Result<()> {
        if self.is_removed() {
            return Err(Error::new(
                ErrorKind::SessionRemoved,
                format!("The CIM session {} ('{}') has been removed", self.id, self.name),
            ));
        }
        Ok(())
    }
}

/// How [`Registry::find`] reads its values.
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

/// The result of a lookup: sessions ordered by Id without duplicates, and the values that found nothing
/// (for names: only values without wildcard characters, spec §1.5).
#[derive(Debug, Default)]
pub struct Found {
    pub sessions: Vec<Arc<CimSession>>,
    pub missing: Vec<String>,
}

#[derive(Default)]
struct Scope {
    last_id: u32,
    sessions: BTreeMap<u32, Arc<CimSession>>,
}

/// All scopes and their sessions. Thread-safe.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    last_scope: ScopeId,
    scopes: HashMap<ScopeId, Scope>,
}

/// The scope that exists from the start (C callers that make no scope of their own).
pub const DEFAULT_SCOPE: ScopeId = 0;

impl Registry {
    /// An empty registry holding only [`DEFAULT_SCOPE`].
    pub fn new() -> Self {
        let registry = Registry::default();
        registry.lock().scopes.insert(DEFAULT_SCOPE, Scope::default());
        registry
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes a new, empty scope.
    pub fn new_scope(&self) -> ScopeId {
        let mut inner = self.lock();
        inner.last_scope += 1;
        let id = inner.last_scope;
        inner.scopes.insert(id, Scope::default());
        id
    }

    /// Removes a scope and every session in it (a runspace closed). The default scope is emptied instead.
    pub fn drop_scope(&self, scope: ScopeId) {
        let mut inner = self.lock();
        let removed = if scope == DEFAULT_SCOPE {
            inner.scopes.insert(DEFAULT_SCOPE, Scope::default())
        } else {
            inner.scopes.remove(&scope)
        };
        for session in removed.into_iter().flat_map(|s| s.sessions.into_values()) {
            session.removed.store(true, Ordering::SeqCst);
        }
    }

    /// Registers a session served by `backend` (see [`Backend::for_target`]) in `scope` (spec §1.3).
    /// `computer_name` None = `localhost`; `name` None = `CimSession<Id>`. A test connection, when one
    /// is wanted, is the caller's to make first, so a failure consumes no Id.
    /// Errors: InvalidHandle (unknown scope).
    pub fn create(&self, scope: ScopeId, computer_name: Option<&str>, name: Option<&str>, options: &SessionOptions, backend: Backend) -> Result<Arc<CimSession>> {
        let mut inner = self.lock();
        let state = inner
            .scopes
            .get_mut(&scope)
            .ok_or_else(|| Error::new(ErrorKind::InvalidHandle, format!("Scope {scope} does not exist")))?;
        let id = state.last_id + 1;
        let session = Arc::new(CimSession {
            id,
            name: name.map(str::to_string).unwrap_or_else(|| format!("CimSession{id}")),
            instance_id: Uuid::new_v4(),
            computer_name: computer_name.unwrap_or("localhost").to_string(),
            options: options.clone(),
            backend,
            scope,
            removed: AtomicBool::new(false),
        });
        state.last_id = id;
        state.sessions.insert(id, Arc::clone(&session));
        Ok(session)
    }

    /// Looks sessions up (spec §1.5). Unparsable Ids and GUIDs are reported as missing, not as errors.
    /// Errors: InvalidHandle (unknown scope), InvalidArgument (a malformed wildcard pattern).
    pub fn find(&self, scope: ScopeId, kind: Lookup, values: &[String]) -> Result<Found> {
        let inner = self.lock();
        let state = inner
            .scopes
            .get(&scope)
            .ok_or_else(|| Error::new(ErrorKind::InvalidHandle, format!("Scope {scope} does not exist")))?;
        let mut hits: BTreeMap<u32, Arc<CimSession>> = BTreeMap::new();
        let mut missing = Vec::new();
        if kind == Lookup::All {
            hits.extend(state.sessions.iter().map(|(id, s)| (*id, Arc::clone(s))));
        }
        for value in values.iter().filter(|_| kind != Lookup::All) {
            let matcher = Matcher::new(kind, value)?;
            let mut any = false;
            for (id, session) in &state.sessions {
                if matcher.matches(session) {
                    any = true;
                    hits.insert(*id, Arc::clone(session));
                }
            }
            if !any && !matcher.is_pattern() {
                missing.push(value.clone());
            }
        }
        Ok(Found { sessions: hits.into_values().collect(), missing })
    }

    /// Removes `session` from `scope` (spec §1.6).
    /// Errors: NotFound, with Windows' wording, when it is not (or no longer) in that scope.
    pub fn remove(&self, scope: ScopeId, session: &CimSession) -> Result<()> {
        let mut inner = self.lock();
        let registered = inner
            .scopes
            .get_mut(&scope)
            .filter(|_| session.scope == scope)
            .and_then(|state| {
                let same = state.sessions.get(&session.id).map_or(false, |s| s.instance_id == session.instance_id);
                if same {
                    state.sessions.remove(&session.id)
                } else {
                    None
                }
            });
        match registered {
            Some(s) => {
                s.removed.store(true, Ordering::SeqCst);
                Ok(())
            }
            None => Err(Error::new(
                ErrorKind::NotFound,
                "Could not find CimSession with the given CimSession = {CimSession Object}",
            )),
        }
    }
}

/// One lookup value, ready to test sessions.
enum Matcher {
    Id(Option<u32>),
    InstanceId(Option<Uuid>),
    ComputerName(String),
    Name { pattern: regex::Regex, wildcard: bool },
}

impl Matcher {
    fn new(kind: Lookup, value: &str) -> Result<Matcher> {
        Ok(match kind {
            Lookup::All => unreachable!("Lookup::All takes no values"),
            Lookup::Id => Matcher::Id(value.trim().parse().ok()),
            Lookup::InstanceId => Matcher::InstanceId(Uuid::parse_str(value.trim()).ok()),
            Lookup::ComputerName => Matcher::ComputerName(value.to_lowercase()),
            Lookup::Name => Matcher::Name { pattern: wildcard_regex(value)?, wildcard: has_wildcards(value) },
        })
    }

    fn is_pattern(&self) -> bool {
        matches!(self, Matcher::Name { wildcard: true, .. })
    }

    fn matches(&self, s: &CimSession) -> bool {
        match self {
            Matcher::Id(id) => *id == Some(s.id),
            Matcher::InstanceId(id) => *id == Some(s.instance_id),
            Matcher::ComputerName(name) => s.computer_name.to_lowercase() == *name,
            Matcher::Name { pattern, .. } => pattern.is_match(&s.name),
        }
    }
}

/// True when `value` has unescaped PowerShell wildcard characters (`*`, `?`, `[`, `]`).
pub fn has_wildcards(value: &str) -> bool {
    let mut escaped = false;
    for c in value.chars() {
        match c {
            '`' if !escaped => escaped = true,
            '*' | '?' | '[' | ']' if !escaped => return true,
            _ => escaped = false,
        }
    }
    false
}

/// Translates a PowerShell wildcard pattern (`*`, `?`, `[abc]`, `[a-z]`, backtick escapes) into an
/// anchored, case-insensitive regular expression. Errors: InvalidArgument for an unclosed `[`.
pub fn wildcard_regex(pattern: &str) -> Result<regex::Regex> {
    let mut re = String::from("(?is)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                if let Some(next) = chars.next() {
                    re.push_str(&regex::escape(&next.to_string()));
                }
            }
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut class = String::from("[");
                let mut closed = false;
                for inner in chars.by_ref() {
                    match inner {
                        ']' => {
                            closed = true;
                            break;
                        }
                        '-' => class.push('-'),
                        other => class.push_str(&regex::escape(&other.to_string())),
                    }
                }
                if !closed {
                    return Err(Error::new(ErrorKind::InvalidArgument, format!("The wildcard pattern '{pattern}' is not valid: '[' is not closed")));
                }
                class.push(']');
                re.push_str(&class);
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re)
        .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("The wildcard pattern '{pattern}' is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: &Found) -> Vec<&str> {
        found.sessions.iter().map(|s| s.name.as_str()).collect()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn ids_count_per_scope() {
        let r = Registry::new();
        let a = r.new_scope();
        let b = r.new_scope();
        let local = SessionOptions::default();
        assert_eq!(r.create(a, None, None, &local, Backend::Local).unwrap().id, 1);
        let second = r.create(a, None, Some("web"), &local, Backend::Local).unwrap();
        assert_eq!((second.id, second.name.as_str()), (2, "web"));
        let other = r.create(b, None, None, &local, Backend::Local).unwrap();
        assert_eq!((other.id, other.name.as_str(), other.computer_name.as_str()), (1, "CimSession1", "localhost"));
    }

    #[test]
    fn backends_follow_the_target() {
        let none = Authentication::Default;
        let dcom = SessionOptions { protocol: Protocol::Dcom, ..Default::default() };
        let err = Backend::for_target(Some("otherhost"), &dcom, None, none).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotSupported);
        assert!(err.message.contains("DCOM"));
        assert!(matches!(Backend::for_target(None, &dcom, None, none).unwrap(), Backend::Local));
        assert!(matches!(Backend::for_target(None, &SessionOptions::default(), None, none).unwrap(), Backend::Local));
        let Backend::Wsman(c) = Backend::for_target(Some("srv"), &SessionOptions::default(), None, none).unwrap() else { panic!("not WS-Man") };
        assert_eq!(c.url(), "http://srv:5985/wsman");
        let wsman = SessionOptions { protocol: Protocol::Wsman, use_ssl: true, port: 443, http_prefix: Some("/x/".into()), ..Default::default() };
        let Backend::Wsman(c) = Backend::for_target(None, &wsman, None, none).unwrap() else { panic!("not WS-Man") };
        assert_eq!(c.url(), "https://localhost:443/x");
        assert_eq!(Backend::for_target(Some(""), &wsman, None, none).unwrap_err().kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn basic_over_http_needs_no_encryption_and_hides_the_password() {
        let cred = Credential::new("me", "s3cret-pw");
        let plain = SessionOptions::default();
        let err = Backend::for_target(Some("srv"), &plain, Some(&cred), Authentication::Basic).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert!(err.message.contains("-NoEncryption") && !err.message.contains("s3cret"));
        let allowed = SessionOptions { no_encryption: true, ..Default::default() };
        let backend = Backend::for_target(Some("srv"), &allowed, Some(&cred), Authentication::Default).unwrap();
        assert!(!format!("{backend:?} {cred:?}").contains("s3cret"));
        let kerberos = Backend::for_target(Some("srv"), &allowed, Some(&cred), Authentication::Kerberos).unwrap_err();
        assert_eq!(kerberos.kind, ErrorKind::NotSupported);
    }

    #[test]
    fn lookups_follow_windows_rules() {
        let r = Registry::new();
        let s = r.new_scope();
        let o = SessionOptions::default();
        let one = r.create(s, None, None, &o, Backend::Local).unwrap();
        r.create(s, None, Some("web"), &o, Backend::Local).unwrap();
        r.create(s, None, Some("Web"), &o, Backend::Local).unwrap();
        assert_eq!(names(&r.find(s, Lookup::All, &[]).unwrap()), ["CimSession1", "web", "Web"]);
        let f = r.find(s, Lookup::Name, &strings(&["WEB", "cim*", "nothing", "nothing*", "w[a-e]b"])).unwrap();
        assert_eq!(names(&f), ["CimSession1", "web", "Web"]);
        assert_eq!(f.missing, ["nothing"]);
        let f = r.find(s, Lookup::Id, &strings(&["2", "9", "x", "2"])).unwrap();
        assert_eq!(names(&f), ["web"]);
        assert_eq!(f.missing, ["9", "x"]);
        let f = r.find(s, Lookup::ComputerName, &strings(&["LOCALHOST", "local*"])).unwrap();
        assert_eq!(f.sessions.len(), 3);
        assert_eq!(f.missing, ["local*"]);
        let f = r.find(s, Lookup::InstanceId, &[one.instance_id.to_string(), "nope".into()]).unwrap();
        assert_eq!(names(&f), ["CimSession1"]);
        assert_eq!(f.missing, ["nope"]);
        assert_eq!(r.find(s, Lookup::Name, &strings(&["[ab"])).unwrap_err().kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn remove_marks_removed_and_is_scoped() {
        let r = Registry::new();
        let a = r.new_scope();
        let b = r.new_scope();
        let s = r.create(a, None, None, &SessionOptions::default(), Backend::Local).unwrap();
        assert_eq!(r.remove(b, &s).unwrap_err().kind, ErrorKind::NotFound);
        r.remove(a, &s).unwrap();
        assert!(s.is_removed());
        assert_eq!(r.remove(a, &s).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(s.class_names(None).unwrap_err().kind, ErrorKind::SessionRemoved);
        assert_eq!(r.create(a, None, None, &SessionOptions::default(), Backend::Local).unwrap().id, 2);
    }

    #[test]
    fn dropping_a_scope_removes_its_sessions() {
        let r = Registry::new();
        let a = r.new_scope();
        let s = r.create(a, None, None, &SessionOptions::default(), Backend::Local).unwrap();
        r.drop_scope(a);
        assert!(s.is_removed());
        assert_eq!(r.find(a, Lookup::All, &[]).unwrap_err().kind, ErrorKind::InvalidHandle);
        let d = r.create(DEFAULT_SCOPE, None, None, &SessionOptions::default(), Backend::Local).unwrap();
        r.drop_scope(DEFAULT_SCOPE);
        assert!(d.is_removed());
        assert_eq!(r.create(DEFAULT_SCOPE, None, None, &SessionOptions::default(), Backend::Local).unwrap().id, 1);
    }

    #[test]
    fn wildcards() {
        assert!(has_wildcards("a*"));
        assert!(!has_wildcards("a`*"));
        let re = wildcard_regex("a`*b?[x-z]").unwrap();
        assert!(re.is_match("A*bQy"));
        assert!(!re.is_match("aXbQy"));
    }
}
