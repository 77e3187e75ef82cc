//! CIM sessions per owner scope (spec/cmdlet-behaviour.md §1.2–§1.6).
//!
//! A scope is what owns sessions: a PowerShell runspace, or a part of a C program. Ids count from 1 in
//! each scope and are consumed only when a session is actually added; a session's default name is
//! `CimSession<Id>`. Lookups are by Id, name (case-insensitive wildcards), computer name (exact,
//! case-insensitive) and InstanceId. Removing a session marks it removed, so references held elsewhere
//! (C handles, PowerShell objects) fail cleanly instead of reaching a dead session.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use super::lookup::{Lookup, ScopeId, DEFAULT_SCOPE};
use crate::auth::{Authentication, Credential};
use crate::cim::provider::CimProvider;
use crate::error::{Error, ErrorKind, Result};
use crate::local::provider::LocalProvider;
use crate::wildcard::{has_wildcards, wildcard_regex};
use crate::wsman::cim::CimClient;
use crate::wsman::options::{SessionOptions, SessionTarget};








/// One registered CIM session.
#[derive(Debug)]
pub struct CimSession {
    /// The Id, counting from 1 in its scope.
    pub id: u32,
    /// The name (`CimSession<Id>` unless given).
    pub name: String,
    /// A GUID unique to this session.
    pub instance_id: Uuid,
    /// As the caller gave it, not resolved; `localhost` for a local session.
    pub computer_name: String,
    /// The options the session was made with.
    pub options: SessionOptions,
    provider: Arc<dyn CimProvider>,
    scope: ScopeId,
    removed: AtomicBool,
}


impl CimSession {
    /// `Local` for the in-process provider, `WSMAN` for WS-Management (spec §1.1).
    pub fn protocol_name(&self) -> &'static str {
        self.provider.protocol_name()
    }

    /// True once the session was removed from its scope.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    /// What serves the session's operations (spec §1.7–§1.9), while the session is registered.
    /// Errors: SessionRemoved once it was removed.
    pub fn provider(&self) -> Result<&dyn CimProvider> {
        if self.is_removed() {
            return Err(Error::new(
                ErrorKind::SessionRemoved,
                format!("The CIM session {} ('{}') has been removed", self.id, self.name),
            ));
        }
        Ok(self.provider.as_ref())
    }
}

/// What serves a session to `computer` with `options`, `credential` and `authentication`
/// (New-CimSession, spec §1.3 step 6; see [`SessionOptions::target`]): this machine's provider, or a
/// WS-Management client. Opens no connection.
/// Errors: InvalidArgument (an empty computer name, one that makes no URL, Basic over HTTP without
/// NoEncryption), NotSupported (DCOM to another computer; mechanisms not available yet).
pub fn provider_for(computer: Option<&str>, options: &SessionOptions, credential: Option<&Credential>, authentication: Authentication) -> Result<Arc<dyn CimProvider>> {
    Ok(match options.target(computer)? {
        SessionTarget::Local => Arc::new(LocalProvider),
        SessionTarget::Wsman(computer) => Arc::new(CimClient::new(computer, options, credential, authentication)?),
    })
}


/// The result of a lookup: sessions ordered by Id without duplicates, and the values that found nothing
/// (for names: only values without wildcard characters, spec §1.5).
#[derive(Debug, Default)]
pub struct Found {
    /// The sessions found, by Id.
    pub sessions: Vec<Arc<CimSession>>,
    /// The lookup values that found nothing.
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

    /// Registers a session served by `provider` (see [`provider_for`]) in `scope` (spec §1.3).
    /// `computer_name` None = `localhost`; `name` None = `CimSession<Id>`. A test connection, when one
    /// is wanted, is the caller's to make first, so a failure consumes no Id.
    /// Errors: NotFound (unknown scope).
    pub fn create(&self, scope: ScopeId, computer_name: Option<&str>, name: Option<&str>, options: &SessionOptions, provider: Arc<dyn CimProvider>) -> Result<Arc<CimSession>> {
        let mut inner = self.lock();
        let state = inner
            .scopes
            .get_mut(&scope)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("Scope {scope} does not exist")))?;
        let id = state.last_id + 1;
        let session = Arc::new(CimSession {
            id,
            name: name.map(str::to_string).unwrap_or_else(|| format!("CimSession{id}")),
            instance_id: Uuid::new_v4(),
            computer_name: computer_name.unwrap_or("localhost").to_string(),
            options: options.clone(),
            provider,
            scope,
            removed: AtomicBool::new(false),
        });
        state.last_id = id;
        state.sessions.insert(id, Arc::clone(&session));
        Ok(session)
    }

    /// Looks sessions up (spec §1.5). Unparsable Ids and GUIDs are reported as missing, not as errors.
    /// Errors: NotFound (unknown scope), InvalidArgument (a malformed wildcard pattern).
    pub fn find(&self, scope: ScopeId, kind: Lookup, values: &[String]) -> Result<Found> {
        let inner = self.lock();
        let state = inner
            .scopes
            .get(&scope)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("Scope {scope} does not exist")))?;
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



#[cfg(test)]
mod tests {
    use super::*;
    use crate::wsman::options::Protocol;

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
        let options = SessionOptions::default();
        assert_eq!(r.create(a, None, None, &options, local()).unwrap().id, 1);
        let second = r.create(a, None, Some("web"), &options, local()).unwrap();
        assert_eq!((second.id, second.name.as_str()), (2, "web"));
        let other = r.create(b, None, None, &options, local()).unwrap();
        assert_eq!((other.id, other.name.as_str(), other.computer_name.as_str()), (1, "CimSession1", "localhost"));
    }

    fn local() -> Arc<dyn CimProvider> {
        Arc::new(LocalProvider)
    }

    #[test]
    fn providers_follow_the_target() {
        let none = Authentication::Default;
        let dcom = SessionOptions { protocol: Protocol::Dcom, ..Default::default() };
        assert_eq!(provider_for(Some("otherhost"), &dcom, None, none).unwrap_err().kind, ErrorKind::NotSupported);
        assert_eq!(provider_for(None, &dcom, None, none).unwrap().protocol_name(), "Local");
        let remote = provider_for(Some("srv"), &SessionOptions::default(), None, none).unwrap();
        assert_eq!((remote.protocol_name(), remote.server_name().as_str()), ("WSMAN", "srv"));
        let wsman = SessionOptions { protocol: Protocol::Wsman, use_ssl: true, port: 443, http_prefix: Some("/x/".into()), ..Default::default() };
        let c = CimClient::new("localhost", &wsman, None, none).unwrap();
        assert_eq!(c.url(), "https://localhost:443/x");
        assert_eq!(CimClient::new("srv", &SessionOptions::default(), None, none).unwrap().url(), "http://srv:5985/wsman");
        assert_eq!(provider_for(None, &wsman, None, none).unwrap().server_name(), "localhost");
    }

    #[test]
    fn basic_over_http_needs_no_encryption_and_hides_the_password() {
        let cred = Credential::new("me", "s3cret-pw");
        let plain = SessionOptions::default();
        let err = provider_for(Some("srv"), &plain, Some(&cred), Authentication::Basic).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert!(err.message.contains("-NoEncryption") && !err.message.contains("s3cret"));
        let allowed = SessionOptions { no_encryption: true, ..Default::default() };
        let provider = provider_for(Some("srv"), &allowed, Some(&cred), Authentication::Default).unwrap();
        assert!(!format!("{provider:?} {cred:?}").contains("s3cret"));
        let digest = provider_for(Some("srv"), &allowed, Some(&cred), Authentication::Digest).unwrap_err();
        assert_eq!(digest.kind, ErrorKind::NotSupported);
    }

    #[test]
    fn lookups_follow_windows_rules() {
        let r = Registry::new();
        let s = r.new_scope();
        let o = SessionOptions::default();
        let one = r.create(s, None, None, &o, local()).unwrap();
        r.create(s, None, Some("web"), &o, local()).unwrap();
        r.create(s, None, Some("Web"), &o, local()).unwrap();
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
        let s = r.create(a, None, None, &SessionOptions::default(), local()).unwrap();
        assert_eq!(r.remove(b, &s).unwrap_err().kind, ErrorKind::NotFound);
        r.remove(a, &s).unwrap();
        assert!(s.is_removed());
        assert_eq!(r.remove(a, &s).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(s.provider().unwrap_err().kind, ErrorKind::SessionRemoved);
        assert_eq!(r.create(a, None, None, &SessionOptions::default(), local()).unwrap().id, 2);
    }

    #[test]
    fn dropping_a_scope_removes_its_sessions() {
        let r = Registry::new();
        let a = r.new_scope();
        let s = r.create(a, None, None, &SessionOptions::default(), local()).unwrap();
        r.drop_scope(a);
        assert!(s.is_removed());
        assert_eq!(r.find(a, Lookup::All, &[]).unwrap_err().kind, ErrorKind::NotFound);
        let d = r.create(DEFAULT_SCOPE, None, None, &SessionOptions::default(), local()).unwrap();
        r.drop_scope(DEFAULT_SCOPE);
        assert!(d.is_removed());
        assert_eq!(r.create(DEFAULT_SCOPE, None, None, &SessionOptions::default(), local()).unwrap().id, 1);
    }

}
