//! PowerShell sessions per owner scope: what each PSSession is (Id, Name, InstanceId, ComputerName,
//! transport), its state as the engine reports it, and the transport carrying it, so that C and C#
//! callers can list, find and remove sessions (spec/cmdlet-behaviour.md §2.1, §2.5, §2.6). Removing a
//! session closes its transport: the server process (pwsh or ssh) is killed and PowerShell's side of
//! the session sees the end.
//!
//! Sessions the library opens or connects to itself ([`PsRegistry::register_client`]) also keep their
//! [`ClientSession`], through which C and C# callers run pipelines; removing one closes its runspace pool
//! first (MS-PSRP's Close), so the server ends cleanly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};
use super::lookup::{Lookup, ScopeId};
use crate::pssession::ClientSession;
use crate::wildcard::{has_wildcards, wildcard_regex};
use crate::transport::PacketTransport;

/// A session's state, numbered as `System.Management.Automation.Runspaces.RunspaceState`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsSessionState {
    BeforeOpen = 0,
    Opening = 1,
    Opened = 2,
    Closed = 3,
    Closing = 4,
    Broken = 5,
    Disconnecting = 6,
    Disconnected = 7,
    Connecting = 8,
}

impl PsSessionState {
    /// The state with this RunspaceState number. Errors: InvalidArgument for an unknown number.
    pub fn from_u32(n: u32) -> Result<PsSessionState> {
        use PsSessionState::*;
        [BeforeOpen, Opening, Opened, Closed, Closing, Broken, Disconnecting, Disconnected, Connecting]
            .get(n as usize)
            .copied()
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("Unknown session state {n}")))
    }
}

/// What registering a session needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsSessionInfo {
    /// PowerShell's `PSSession.Id`.
    pub id: i32,
    pub instance_id: Uuid,
    pub name: String,
    pub computer_name: String,
    /// `Process` or `SSH`.
    pub transport: String,
}

/// One registered PSSession.
pub struct PsSession {
    pub info: PsSessionInfo,
    state: Mutex<PsSessionState>,
    transport: Option<Arc<dyn PacketTransport>>,
    /// The runspace pool, for a session the library opened (None for PowerShell's own sessions, and
    /// once the session was removed).
    client: Mutex<Option<ClientSession>>,
}

/// How long removing a session the library opened waits for the server to acknowledge the pool's close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PsSession {
    /// The state last recorded; an Opened session the library opened is Broken once its server or
    /// connection failed.
    pub fn state(&self) -> PsSessionState {
        let state = *lock(&self.state);
        if state == PsSessionState::Opened && lock(&self.client).as_ref().map_or(false, ClientSession::is_broken) {
            return PsSessionState::Broken;
        }
        state
    }

    /// Runs `f` on the runspace pool of a session the library opened.
    /// Errors: InvalidState when PowerShell opened the session (its engine runs the commands) or the
    /// session was removed.
    pub fn with_client<T>(&self, f: impl FnOnce(&ClientSession) -> Result<T>) -> Result<T> {
        let client = lock(&self.client);
        let client = client.as_ref().ok_or_else(|| {
            let why = if *lock(&self.state) == PsSessionState::Closed { "is closed" } else { "was opened by PowerShell; run commands in it through PowerShell" };
            Error::new(ErrorKind::InvalidState, format!("The session {} {why}", self.info.name))
        })?;
        f(client)
    }

    /// Ends the session: closes the runspace pool of one the library opened, then the transport. A
    /// Disconnected session is only let go: the server keeps it until its idle timeout, for another
    /// client to connect to (as when the process ends).
    fn close(&self) {
        let client = lock(&self.client).take();
        if let Some(mut c) = client {
            if self.state() != PsSessionState::Disconnected {
                c.close(CLOSE_TIMEOUT);
            }
        }
        if let Some(t) = &self.transport {
            t.close();
        }
        self.set_state(PsSessionState::Closed);
    }

    /// Disconnects the session (WS-Management only, [`PacketTransport::disconnect`]): the server keeps
    /// it for `idle_timeout_ms` (None: its own idle timeout); the state becomes Disconnected.
    /// Errors: InvalidState unless Opened (or for a session registered without its transport);
    /// NotSupported for process and ssh sessions; the server's refusal (the session stays Opened).
    pub fn disconnect(&self, idle_timeout_ms: Option<u32>) -> Result<()> {
        if self.state() != PsSessionState::Opened {
            return Err(Error::new(ErrorKind::InvalidState, format!("The session {} is not open, so it cannot be disconnected", self.info.name)));
        }
        self.transport_or_refuse()?.disconnect(idle_timeout_ms)?;
        self.set_state(PsSessionState::Disconnected);
        Ok(())
    }

    /// Reconnects a session [`PsSession::disconnect`] left; output written meanwhile then arrives.
    /// Errors: InvalidState unless Disconnected; NotSupported as there; the server's refusal (e.g. the
    /// shell ended after its idle timeout; the session stays Disconnected).
    pub fn reconnect(&self) -> Result<()> {
        if self.state() != PsSessionState::Disconnected {
            return Err(Error::new(ErrorKind::InvalidState, format!("The session {} is not disconnected", self.info.name)));
        }
        self.transport_or_refuse()?.reconnect()?;
        self.set_state(PsSessionState::Opened);
        Ok(())
    }

    fn transport_or_refuse(&self) -> Result<&Arc<dyn PacketTransport>> {
        self.transport
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::InvalidState, format!("The session {} was registered without its transport", self.info.name)))
    }

    pub fn set_state(&self, state: PsSessionState) {
        *lock(&self.state) = state;
    }
}

/// The result of [`PsRegistry::find`]: sessions in registration order without duplicates, and the
/// values that found nothing (for names and computer names only those without wildcards).
#[derive(Default)]
pub struct PsFound {
    pub sessions: Vec<Arc<PsSession>>,
    pub missing: Vec<String>,
}

/// Sessions of every scope, in registration order. Thread-safe.
#[derive(Default)]
pub struct PsRegistry {
    scopes: Mutex<HashMap<ScopeId, Vec<Arc<PsSession>>>>,
    /// The highest Id registered in any scope, so sessions the library opens take the next one.
    last_id: Mutex<i32>,
}

impl PsRegistry {
    /// Registers a session that reached Opened, with the transport that carries it (if any).
    /// Errors: InvalidArgument when the scope already has a session with that InstanceId.
    pub fn register(&self, scope: ScopeId, info: PsSessionInfo, transport: Option<Arc<dyn PacketTransport>>) -> Result<Arc<PsSession>> {
        self.add(scope, info, transport, None)
    }

    /// Registers a session the library opened or connected to ([`ClientSession::open`],
    /// [`ClientSession::connect`]) with its runspace pool's id as InstanceId (as PowerShell's PSSession
    /// shows it, and a WinRS shell's ShellId), the next Id and `name` (None: `Runspace<Id>`).
    /// Errors: InvalidArgument when the scope has that InstanceId already.
    #[allow(clippy::too_many_arguments)]
    pub fn register_client(&self, scope: ScopeId, instance_id: Uuid, name: Option<&str>, computer_name: &str, transport_name: &str, transport: Arc<dyn PacketTransport>, client: ClientSession) -> Result<Arc<PsSession>> {
        let id = *lock(&self.last_id) + 1;
        let info = PsSessionInfo {
            id,
            instance_id,
            name: name.map_or_else(|| format!("Runspace{id}"), str::to_string),
            computer_name: computer_name.to_string(),
            transport: transport_name.to_string(),
        };
        self.add(scope, info, Some(transport), Some(client))
    }

    fn add(&self, scope: ScopeId, info: PsSessionInfo, transport: Option<Arc<dyn PacketTransport>>, client: Option<ClientSession>) -> Result<Arc<PsSession>> {
        let mut scopes = lock(&self.scopes);
        let list = scopes.entry(scope).or_default();
        if list.iter().any(|s| s.info.instance_id == info.instance_id) {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("Session {} is already registered", info.instance_id)));
        }
        let mut last = lock(&self.last_id);
        *last = (*last).max(info.id);
        let session = Arc::new(PsSession { info, state: Mutex::new(PsSessionState::Opened), transport, client: Mutex::new(client) });
        list.push(Arc::clone(&session));
        Ok(session)
    }

    /// Looks sessions up (spec §2.5): names and computer names are case-insensitive wildcards.
    /// Errors: InvalidArgument for a malformed pattern.
    pub fn find(&self, scope: ScopeId, kind: Lookup, values: &[String]) -> Result<PsFound> {
        let scopes = lock(&self.scopes);
        let all: &[Arc<PsSession>] = scopes.get(&scope).map_or(&[], Vec::as_slice);
        let mut found = PsFound::default();
        let take = |s: &Arc<PsSession>, found: &mut PsFound| {
            if !found.sessions.iter().any(|f| Arc::ptr_eq(f, s)) {
                found.sessions.push(Arc::clone(s));
            }
        };
        if kind == Lookup::All {
            all.iter().for_each(|s| take(s, &mut found));
            return Ok(found);
        }
        for value in values {
            let hits: Vec<&Arc<PsSession>> = match kind {
                Lookup::Id => {
                    let id = value.trim().parse::<i32>().ok();
                    all.iter().filter(|s| Some(s.info.id) == id).collect()
                }
                Lookup::InstanceId => {
                    let id = Uuid::parse_str(value.trim()).ok();
                    all.iter().filter(|s| Some(s.info.instance_id) == id).collect()
                }
                Lookup::Name | Lookup::ComputerName => {
                    let pattern = wildcard_regex(value)?;
                    all.iter()
                        .filter(|s| pattern.is_match(if kind == Lookup::Name { &s.info.name } else { &s.info.computer_name }))
                        .collect()
                }
                Lookup::All => unreachable!("handled above"),
            };
            if hits.is_empty() && !(matches!(kind, Lookup::Name | Lookup::ComputerName) && has_wildcards(value)) {
                found.missing.push(value.clone());
            }
            hits.into_iter().for_each(|s| take(s, &mut found));
        }
        Ok(found)
    }

    /// Removes a session from `scope`, closing its runspace pool (if the library opened it) and its
    /// transport (the server process ends) and marking it Closed. Errors: NotFound when it is not (or no longer) registered there.
    pub fn remove(&self, scope: ScopeId, session: &Arc<PsSession>) -> Result<()> {
        let removed = {
            let mut scopes = lock(&self.scopes);
            let list = scopes.get_mut(&scope);
            list.and_then(|l| l.iter().position(|s| Arc::ptr_eq(s, session)).map(|i| l.remove(i)))
        };
        let session = removed.ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("The remote session with the session ID {} is not available.", session.info.id))
        })?;
        session.close();
        Ok(())
    }

    /// Forgets every session of a scope (its runspace closed), closing their transports.
    pub fn drop_scope(&self, scope: ScopeId) {
        let removed = lock(&self.scopes).remove(&scope).unwrap_or_default();
        for s in removed {
            s.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ProcessTransport;

    fn info(id: i32, name: &str, computer: &str) -> PsSessionInfo {
        PsSessionInfo { id, instance_id: Uuid::new_v4(), name: name.into(), computer_name: computer.into(), transport: "SSH".into() }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn registers_finds_and_removes() {
        let r = PsRegistry::default();
        let web = r.register(1, info(3, "web", "host1"), None).unwrap();
        let db = r.register(1, info(4, "db", "host2"), None).unwrap();
        r.register(2, info(5, "other", "host1"), None).unwrap();
        assert_eq!(r.find(1, Lookup::All, &[]).unwrap().sessions.len(), 2);
        let f = r.find(1, Lookup::Name, &strings(&["W*", "nope", "nope*", "WEB"])).unwrap();
        assert_eq!(f.sessions.len(), 1);
        assert_eq!(f.missing, ["nope"]);
        let f = r.find(1, Lookup::Id, &strings(&["4", "9"])).unwrap();
        assert!(Arc::ptr_eq(&f.sessions[0], &db));
        assert_eq!(f.missing, ["9"]);
        assert_eq!(r.find(1, Lookup::ComputerName, &strings(&["HOST*"])).unwrap().sessions.len(), 2);
        let f = r.find(1, Lookup::InstanceId, &[web.info.instance_id.to_string()]).unwrap();
        assert!(Arc::ptr_eq(&f.sessions[0], &web));
        assert!(r.register(1, web.info.clone(), None).is_err());

        r.remove(1, &web).unwrap();
        assert_eq!(web.state(), PsSessionState::Closed);
        assert_eq!(r.remove(1, &web).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(r.remove(2, &db).unwrap_err().kind, ErrorKind::NotFound);
        r.drop_scope(1);
        assert_eq!(db.state(), PsSessionState::Closed);
        assert!(r.find(1, Lookup::All, &[]).unwrap().sessions.is_empty());
    }

    #[test]
    fn removing_closes_the_transport() {
        let r = PsRegistry::default();
        let t: Arc<dyn PacketTransport> = Arc::new(ProcessTransport::spawn("cat", &[]).unwrap());
        let s = r.register(7, info(1, "p", "localhost"), Some(Arc::clone(&t))).unwrap();
        assert!(t.process_id().is_some());
        r.remove(7, &s).unwrap();
        assert_eq!(t.process_id(), None);
        assert_eq!(t.receive(None).unwrap(), None);
        assert_eq!(PsSessionState::from_u32(5).unwrap(), PsSessionState::Broken);
        assert!(PsSessionState::from_u32(9).is_err());
    }
}
