//! Class declarations of a WS-Management endpoint (GetClass over the CIM-XML resource URI, DSP0227
//! §8.1), fetched once per endpoint, namespace and class and shared by every session and ad hoc call to
//! it: they type instance values and name an instance's superclasses. A server that gives none leaves
//! values untyped (strings), as [`super::binding`] explains.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;

use super::binding::{self, ClassSchema};
use super::endpoint::Endpoint;
use super::{envelope, NAMESPACE_SELECTOR};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorKind, Result};

/// How many superclasses deep a class's ancestry is fetched.
const MAX_ANCESTRY: usize = 16;

/// Class declarations by endpoint URL, namespace and class (lower-cased); None when the server has none
/// to give. Shared by every session and ad hoc call to the same endpoint.
type SchemaCache = HashMap<(String, String, String), Option<Arc<ClassSchema>>>;
static SCHEMAS: Lazy<Mutex<SchemaCache>> = Lazy::new(|| Mutex::new(HashMap::new()));

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
    let key = (endpoint.url_text().to_string(), namespace.to_lowercase(), class_name.to_lowercase());
    SCHEMAS.lock().unwrap_or_else(|p| p.into_inner()).insert(key, Some(Arc::clone(&schema)));
    Ok(schema)
}

/// The class declaration of `class_name`, from this endpoint's cache or fetched with GetClass;
/// None when the server does not give one (the values then stay untyped).
pub fn class_schema(endpoint: &Endpoint, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Option<Arc<ClassSchema>>> {
    let key = (endpoint.url_text().to_string(), namespace.to_lowercase(), class_name.to_lowercase());
    if let Some(known) = SCHEMAS.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(known.clone());
    }
    let schema = match get_class(endpoint, namespace, class_name, cancel) {
        Ok(schema) => Some(schema),
        // Cancellation and a dead server are the caller's errors, not "this server has no classes".
        Err(e) if matches!(e.kind, ErrorKind::Cancelled | ErrorKind::ConnectionFailed | ErrorKind::Timeout | ErrorKind::TlsFailed | ErrorKind::AccessDenied) => return Err(e),
        Err(_) => None,
    };
    SCHEMAS.lock().unwrap_or_else(|p| p.into_inner()).insert(key, schema.clone());
    Ok(schema)
}

/// The superclasses of `class_name`, nearest first, as far as the server's declarations tell.
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

/// The class of an enumeration's last item, with its schema and superclasses: items mostly share one
/// class, which is then looked up once rather than per item.
#[derive(Default)]
pub struct LastClass(Option<(String, Option<Arc<ClassSchema>>, Vec<String>)>);

impl LastClass {
    /// The schema (None: the server gives none) and superclasses of `class`.
    /// Errors: as [`class_schema`].
    pub fn lookup(&mut self, endpoint: &Endpoint, namespace: &str, class: &str, cancel: Option<&Cancel>) -> Result<(Option<&ClassSchema>, &[String])> {
        if !self.0.as_ref().map_or(false, |(name, ..)| name.eq_ignore_ascii_case(class)) {
            let schema = class_schema(endpoint, namespace, class, cancel)?;
            let ancestry = ancestry(endpoint, namespace, schema.as_deref(), cancel)?;
            self.0 = Some((class.to_string(), schema, ancestry));
        }
        let (_, schema, ancestry) = self.0.as_ref().expect("set above");
        Ok((schema.as_deref(), ancestry))
    }
}
