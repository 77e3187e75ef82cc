//! Class declarations of a WS-Management endpoint (GetClass over the CIM-XML resource URI, DSP0227
//! §8.1), fetched once per endpoint, namespace and class and shared by every session and ad hoc call to
//! it: they type instance values and name an instance's superclasses. A server that gives none leaves
//! values untyped (strings), as [`super::binding`] explains.
//!
//! Some servers (OMI among them) run one user's operations one at a time: a GetClass sent while an
//! enumeration context of the same user is open is never answered. So an enumeration fetches the
//! declarations it needs before its Enumerate, and while its context is open it only reads the cache
//! ([`ItemClasses::lookup`] with `may_fetch` false).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;

use super::binding::{self, ClassSchema};
use super::endpoint::Endpoint;
use super::{envelope, NAMESPACE_SELECTOR};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorKind, Result};

/// How many superclasses deep a class's ancestry is fetched.
const MAX_ANCESTRY: usize = 16;

/// Most class declarations kept (of all endpoints together); past it the oldest are forgotten, so a
/// server with endless classes cannot grow the cache without bound.
pub const MAX_CACHED_CLASSES: usize = 1024;

/// Most classes of its items (beyond the class it asked for) whose declarations one enumeration asks
/// for, each with its superclasses: items of yet more classes are typed by the declaration of the class
/// asked for.
pub const MAX_FETCHES_PER_ENUMERATION: usize = 64;

/// Endpoint URL, namespace and class (both lower-cased).
type SchemaKey = (String, String, String);

/// Class declarations (None when the server has none to give), shared by every session and ad hoc call
/// to the same endpoint, and the order they came in (the oldest is forgotten first).
#[derive(Default)]
struct SchemaCache {
    entries: HashMap<SchemaKey, Option<Arc<ClassSchema>>>,
    order: VecDeque<SchemaKey>,
}

impl SchemaCache {
    fn insert(&mut self, key: SchemaKey, schema: Option<Arc<ClassSchema>>) {
        if self.entries.insert(key.clone(), schema).is_none() {
            self.order.push_back(key);
        }
        while self.entries.len() > MAX_CACHED_CLASSES {
            let Some(oldest) = self.order.pop_front() else { break };
            self.entries.remove(&oldest);
        }
    }
}

static SCHEMAS: Lazy<Mutex<SchemaCache>> = Lazy::new(|| Mutex::new(SchemaCache::default()));

fn schemas() -> std::sync::MutexGuard<'static, SchemaCache> {
    SCHEMAS.lock().unwrap_or_else(|p| p.into_inner())
}

fn key(endpoint: &Endpoint, namespace: &str, class_name: &str) -> SchemaKey {
    (endpoint.url_text().to_string(), namespace.replace('\\', "/").to_lowercase(), class_name.to_lowercase())
}

/// GetClass (DSP0227 §8.1 over the CIM-XML resource URI; Get-CimClass): the declaration of
/// `class_name` in `namespace`, always fetched (and then cached for typing values).
/// Errors: InvalidClass, InvalidNamespace and the server's other faults, network errors, Cancelled;
/// BadReply when the reply holds no CLASS.
pub fn get_class(endpoint: &Endpoint, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Arc<ClassSchema>> {
    let namespace = namespace.replace('\\', "/");
    let selectors = vec![
        (NAMESPACE_SELECTOR.to_string(), namespace.clone()),
        ("ClassName".to_string(), class_name.to_string()),
    ];
    let reply = endpoint.send(envelope::ACTION_GET, envelope::CLASS_RESOURCE_URI, &selectors, "", cancel)?;
    let class = reply
        .payload()
        .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to GetClass holds no class", endpoint.computer())))?;
    let schema = Arc::new(binding::class_schema(class).map_err(|e| e.context(endpoint.computer()))?);
    schemas().insert(key(endpoint, &namespace, class_name), Some(Arc::clone(&schema)));
    Ok(schema)
}

/// The class declaration of `class_name` as far as the cache knows it: None when it was never asked
/// for (or forgotten), Some(None) when the server has none to give.
fn cached(endpoint: &Endpoint, namespace: &str, class_name: &str) -> Option<Option<Arc<ClassSchema>>> {
    schemas().entries.get(&key(endpoint, namespace, class_name)).cloned()
}

/// The class declaration of `class_name`, from this endpoint's cache or fetched with GetClass;
/// None when the server does not give one (the values then stay untyped).
/// Errors: Cancelled, ConnectionFailed, Timeout, TlsFailed, AccessDenied (any other failure of the
/// GetClass means "no declaration").
pub fn class_schema(endpoint: &Endpoint, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Option<Arc<ClassSchema>>> {
    if let Some(known) = cached(endpoint, namespace, class_name) {
        return Ok(known);
    }
    let schema = match get_class(endpoint, namespace, class_name, cancel) {
        Ok(schema) => Some(schema),
        // Cancellation and a dead server are the caller's errors, not "this server has no classes".
        Err(e) if matches!(e.kind, ErrorKind::Cancelled | ErrorKind::ConnectionFailed | ErrorKind::Timeout | ErrorKind::TlsFailed | ErrorKind::AccessDenied) => return Err(e),
        Err(_) => None,
    };
    schemas().insert(key(endpoint, namespace, class_name), schema.clone());
    Ok(schema)
}

/// The superclasses of `class_name`, nearest first, as far as the server's declarations tell.
/// Errors: as [`class_schema`].
pub fn ancestry(endpoint: &Endpoint, namespace: &str, schema: Option<&ClassSchema>, cancel: Option<&Cancel>) -> Result<Vec<String>> {
    let mut chain = Vec::new();
    let mut next = schema.and_then(|s| s.superclass.clone());
    while let Some(parent) = next.take() {
        if chain.len() >= MAX_ANCESTRY || chain.iter().any(|c: &String| c.eq_ignore_ascii_case(&parent)) {
            break;
        }
        next = class_schema(endpoint, namespace, &parent, cancel)?.and_then(|s| s.superclass.clone());
        chain.push(parent);
    }
    Ok(chain)
}

/// The superclasses of a class declared by `schema`, from the cache only; None when a declaration on
/// the way is not cached.
fn cached_ancestry(endpoint: &Endpoint, namespace: &str, schema: Option<&ClassSchema>) -> Option<Vec<String>> {
    let mut chain = Vec::new();
    let mut next = schema.and_then(|s| s.superclass.clone());
    while let Some(parent) = next.take() {
        if chain.len() >= MAX_ANCESTRY || chain.iter().any(|c: &String| c.eq_ignore_ascii_case(&parent)) {
            break;
        }
        next = cached(endpoint, namespace, &parent)?.and_then(|s| s.superclass.clone());
        chain.push(parent);
    }
    Some(chain)
}

/// The declarations an enumeration types its items with: the class it asked for, fetched before its
/// Enumerate, and the class of its last item, with its schema and superclasses (items mostly share one
/// class, which is then looked up once rather than per item).
#[derive(Default)]
pub struct ItemClasses {
    /// The class asked for, its schema and superclasses: what items of classes not yet known are typed
    /// by while no declaration may be fetched.
    requested: Option<(String, Option<Arc<ClassSchema>>, Vec<String>)>,
    /// The last item's class, its schema and superclasses, and whether they are the requested class's
    /// stand-in (then looked up again once fetching is allowed).
    last: Option<(String, Option<Arc<ClassSchema>>, Vec<String>, bool)>,
    /// GetClass requests sent for items' classes so far.
    fetches: usize,
}

impl ItemClasses {
    /// Fetches (or finds cached) the declaration and superclasses of `class`, the class an enumeration
    /// asks for, before its Enumerate is sent.
    /// Errors: as [`class_schema`].
    pub fn prefetch(endpoint: &Endpoint, namespace: &str, class: &str, cancel: Option<&Cancel>) -> Result<ItemClasses> {
        let schema = class_schema(endpoint, namespace, class, cancel)?;
        let ancestry = ancestry(endpoint, namespace, schema.as_deref(), cancel)?;
        Ok(ItemClasses { requested: Some((class.to_string(), schema, ancestry)), last: None, fetches: 0 })
    }

    /// The schema (None: the server gives none or it is unknown yet) and superclasses of `class`.
    /// With `may_fetch` false (an enumeration context is open on the server) nothing is sent: a class
    /// whose declarations are not all cached gets the requested class's schema, and that class and its
    /// superclasses as its own. So it does once declarations of [`MAX_FETCHES_PER_ENUMERATION`] classes were asked for.
    /// Errors: as [`class_schema`] (only when fetching).
    pub fn lookup(&mut self, endpoint: &Endpoint, namespace: &str, class: &str, may_fetch: bool, cancel: Option<&Cancel>) -> Result<(Option<&ClassSchema>, &[String])> {
        let known = self.last.as_ref().map_or(false, |(name, _, _, stand_in)| name.eq_ignore_ascii_case(class) && !(*stand_in && may_fetch && self.fetches < MAX_FETCHES_PER_ENUMERATION));
        if !known {
            self.last = Some(self.find(endpoint, namespace, class, may_fetch, cancel)?);
        }
        let (_, schema, ancestry, _) = self.last.as_ref().expect("set above");
        Ok((schema.as_deref(), ancestry))
    }

    fn find(&mut self, endpoint: &Endpoint, namespace: &str, class: &str, may_fetch: bool, cancel: Option<&Cancel>) -> Result<(String, Option<Arc<ClassSchema>>, Vec<String>, bool)> {
        if let Some((name, schema, ancestry)) = self.requested.as_ref().filter(|(name, ..)| name.eq_ignore_ascii_case(class)) {
            return Ok((name.clone(), schema.clone(), ancestry.clone(), false));
        }
        if let Some(schema) = cached(endpoint, namespace, class) {
            if let Some(ancestry) = cached_ancestry(endpoint, namespace, schema.as_deref()) {
                return Ok((class.to_string(), schema, ancestry, false));
            }
        }
        if may_fetch && self.fetches < MAX_FETCHES_PER_ENUMERATION {
            self.fetches += 1;
            let schema = class_schema(endpoint, namespace, class, cancel)?;
            let ancestry = ancestry(endpoint, namespace, schema.as_deref(), cancel)?;
            return Ok((class.to_string(), schema, ancestry, false));
        }
        let (schema, ancestry) = match &self.requested {
            Some((name, schema, ancestry)) => (schema.clone(), std::iter::once(name.clone()).chain(ancestry.iter().cloned()).collect()),
            None => (None, Vec::new()),
        };
        Ok((class.to_string(), schema, ancestry, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_forgets_its_oldest_declarations_past_its_bound() {
        let mut cache = SchemaCache::default();
        let key = |n: usize| ("http://h/wsman".to_string(), "root/x".to_string(), format!("c{n}"));
        for n in 0..MAX_CACHED_CLASSES + 10 {
            cache.insert(key(n), None);
        }
        // The same key again does not count twice.
        cache.insert(key(MAX_CACHED_CLASSES + 9), None);
        assert_eq!((cache.entries.len(), cache.order.len()), (MAX_CACHED_CLASSES, MAX_CACHED_CLASSES));
        assert!(!cache.entries.contains_key(&key(9)));
        assert!(cache.entries.contains_key(&key(10)));
    }
}
