//! CIM operations over WS-Management (DSP0227, the CIM binding; MS-WSMV): the envelopes' bodies for
//! each operation, the replies read into typed instances ([`super::binding`]), enumerations
//! ([`super::enumeration`]) and the declarations that type them ([`super::schema`]). [`CimClient`] is
//! the [`CimProvider`] of a CIM session to a named computer.

use std::sync::Arc;

use super::binding::{self, ClassSchema, Origin};
use super::endpoint::Endpoint;
use super::enumeration::Enumeration;
use super::envelope::{self, EnumerationMode, DIALECT_CQL, DIALECT_WQL};
use super::options::SessionOptions;
use super::reply::Identity;
use super::{schema, NAMESPACE_SELECTOR, NS_ADDRESSING, NS_TRANSFER, NS_WSMAN};
use crate::auth::{Authentication, Credential};
use crate::cancel::Cancel;
use crate::cim::provider::{Association, CimProvider, Instances, OperationFlags};
use crate::cim::{wql, CimInstance, CimProperty};
use crate::error::{Error, ErrorKind, Result};

/// Default `w:MaxElements` of an optimized Enumerate and of each Pull (Windows' client sends 32000).
pub const DEFAULT_MAX_ELEMENTS: u32 = 32_000;

/// The CIM operations of one WS-Management endpoint. Thread-safe; cheap to share.
#[derive(Debug)]
pub struct CimClient {
    endpoint: Arc<Endpoint>,
    /// `w:MaxElements` of an optimized Enumerate and of each Pull.
    pub max_elements: u32,
}

impl CimClient {
    /// A client of `computer`'s endpoint as [`Endpoint::new`] makes it.
    /// Errors: as [`Endpoint::new`].
    pub fn new(computer: &str, options: &SessionOptions, credential: Option<&Credential>, authentication: Authentication) -> Result<CimClient> {
        Ok(CimClient { endpoint: Arc::new(Endpoint::new(computer, options, credential, authentication)?), max_elements: DEFAULT_MAX_ELEMENTS })
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The endpoint URL, e.g. `https://srv1:5986/wsman`.
    pub fn url(&self) -> String {
        self.endpoint.url()
    }

    /// WS-Management Identify (DSP0226 §11): what New-CimSession's test connection sends.
    /// Errors: the server's faults, network errors, Cancelled.
    pub fn identify(&self, cancel: Option<&Cancel>) -> Result<Identity> {
        self.endpoint.identify(cancel)
    }

    /// Starts an enumeration of `class_name` in `namespace` (slash or backslash form), with a `filter`
    /// of (dialect URI, text) when given; results come from [`Enumeration::next`]. For a query,
    /// `class_name` is the class it selects from when known, else empty. A WQL query goes to the
    /// wildcard resource URI `http://schemas.dmtf.org/wbem/wscim/1/*`, as Windows' client sends it;
    /// another dialect (CQL) to the class's URI when the class is known.
    /// Each item is asked for with its EPR (EnumerateObjectAndEPR), whose selectors become its keys;
    /// `keys_only` enumerates endpoint references and hands out instances with only their keys;
    /// `shallow` leaves out instances of subclasses.
    /// Errors: the server's faults (InvalidNamespace, InvalidClass, InvalidQuery, …), network errors.
    pub fn enumerate(&self, namespace: &str, class_name: &str, filter: Option<(&str, &str)>, keys_only: bool, shallow: bool, cancel: Option<Arc<Cancel>>) -> Result<Enumeration> {
        let namespace = namespace.replace('\\', "/");
        let resource_uri = match filter {
            Some((dialect, _)) if dialect == envelope::DIALECT_WQL || class_name.is_empty() => envelope::QUERY_RESOURCE_URI.to_string(),
            _ => envelope::class_resource_uri(class_name),
        };
        // As Windows' client: each instance with its EPR, whose selectors are its keys.
        let mode = if keys_only { EnumerationMode::Epr } else { EnumerationMode::ObjectAndEpr };
        let body = envelope::enumerate_body(true, self.max_elements, mode, filter);
        Enumeration::start(&self.endpoint, self.max_elements, namespace, resource_uri, class_name, shallow, &body, cancel)
    }

    /// Starts an enumeration of the instances associated with, or the associations referring to, the
    /// instance of `class_name` whose keys are `keys` (DSP0227 §8.2; Get-CimAssociatedInstance), sent
    /// as Windows' client sends it: to the wildcard resource URI, each item an instance with its EPR,
    /// or only the EPR when `keys_only` (the instances then hold only their keys).
    /// Errors: as [`CimClient::enumerate`]; NotFound when the source instance does not exist.
    pub fn associated(&self, namespace: &str, class_name: &str, keys: &[(String, String)], association: &Association, keys_only: bool, cancel: Option<Arc<Cancel>>) -> Result<Enumeration> {
        let namespace = namespace.replace('\\', "/");
        let source_uri = envelope::class_resource_uri(class_name);
        let source = envelope::instance_selectors(&namespace, keys, &source_uri);
        let body = envelope::association_body(self.max_elements, keys_only, &source_uri, &source, association);
        let result_class = match association {
            Association::Associated { result_class, .. } | Association::References { result_class, .. } => result_class.clone(),
        };
        Enumeration::start(&self.endpoint, self.max_elements, namespace, envelope::QUERY_RESOURCE_URI.to_string(), result_class.as_deref().unwrap_or(""), false, &body, cancel)
    }

    /// WS-Transfer Get of the instance of `class_name` whose keys are `keys` (name, value as text)
    /// (DSP0227 §8.1: the keys are selectors beside `__cimnamespace`).
    /// Errors: NotFound (CIM status 6) and the server's other faults, network errors, Cancelled.
    pub fn get(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = envelope::instance_selectors(&namespace, keys, &uri);
        let reply = self.endpoint.send(envelope::ACTION_GET, &uri, &selectors, "", cancel)?;
        let item = reply
            .payload()
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to Get holds no instance", self.endpoint.computer())))?;
        let schema = schema::class_schema(&self.endpoint, &namespace, item.name(), cancel)?;
        let ancestry = schema::ancestry(&self.endpoint, &namespace, schema.as_deref(), cancel)?;
        let origin = Origin { namespace: &namespace, server_name: self.endpoint.computer(), class_hint: Some(class_name) };
        let mut instance = binding::instance(item, origin, schema.as_deref(), &ancestry)?;
        let key_names: Vec<&str> = keys.iter().map(|(name, _)| name.as_str()).collect();
        binding::mark_keys(&mut instance, &key_names);
        Ok(instance)
    }

    /// WS-Transfer Create of an instance of `class_name` with `properties` (DSP0227 §8.4; New-CimInstance).
    /// Returns the new instance as a Get on the keys the server returned reads it, or, when the server
    /// cannot Get it, the properties sent with those keys marked.
    /// Errors: AlreadyExists, InvalidArgument, NotSupported and the server's other faults, network
    /// errors, Cancelled; BadReply when the reply names no created resource.
    pub fn create(&self, namespace: &str, class_name: &str, properties: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = envelope::instance_selectors(&namespace, &[], &uri);
        let body = envelope::instance_body(&uri, class_name, properties);
        let reply = self.endpoint.send(envelope::ACTION_CREATE, &uri, &selectors, &body, cancel)?;
        let created = reply
            .body()
            .and_then(|b| b.child(NS_TRANSFER, "ResourceCreated"))
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to Create names no created resource", self.endpoint.computer())))?;
        let keys: Vec<(String, String)> = created
            .child(NS_ADDRESSING, "ReferenceParameters")
            .and_then(|p| p.child(NS_WSMAN, "SelectorSet"))
            .into_iter()
            .flat_map(|set| set.children_named(NS_WSMAN, "Selector"))
            .map(|s| (s.attr("", "Name").unwrap_or_default().to_string(), s.trimmed().to_string()))
            .filter(|(name, _)| name != NAMESPACE_SELECTOR)
            .collect();
        match self.get(&namespace, class_name, &keys, cancel) {
            Ok(instance) => Ok(instance),
            Err(e) if matches!(e.kind, ErrorKind::Cancelled | ErrorKind::ConnectionFailed | ErrorKind::Timeout | ErrorKind::TlsFailed | ErrorKind::AccessDenied) => Err(e),
            Err(_) => {
                let mut sent = properties.to_vec();
                for p in sent.iter_mut() {
                    p.key = keys.iter().any(|(k, _)| k.eq_ignore_ascii_case(&p.name));
                }
                Ok(CimInstance { namespace, class_name: class_name.to_string(), superclasses: Vec::new(), server_name: self.endpoint.computer().to_string(), properties: sent })
            }
        }
    }

    /// WS-Transfer Put (DSP0227 §8.5; Set-CimInstance) of the instance of `class_name` whose keys are
    /// `keys`, with `properties`; returns the instance as the server now has it.
    /// Errors: NotFound, InvalidArgument and the server's other faults, network errors, Cancelled.
    pub fn put(&self, namespace: &str, class_name: &str, keys: &[(String, String)], properties: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = envelope::instance_selectors(&namespace, keys, &uri);
        let body = envelope::instance_body(&uri, class_name, properties);
        let reply = self.endpoint.send(envelope::ACTION_PUT, &uri, &selectors, &body, cancel)?;
        let item = reply
            .payload()
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to Put holds no instance", self.endpoint.computer())))?;
        let schema = schema::class_schema(&self.endpoint, &namespace, item.name(), cancel)?;
        let ancestry = schema::ancestry(&self.endpoint, &namespace, schema.as_deref(), cancel)?;
        let origin = Origin { namespace: &namespace, server_name: self.endpoint.computer(), class_hint: Some(class_name) };
        binding::instance(item, origin, schema.as_deref(), &ancestry)
    }

    /// WS-Transfer Delete (DSP0227 §8.6; Remove-CimInstance) of the instance of `class_name` whose
    /// keys are `keys`. Errors: NotFound and the server's other faults, network errors, Cancelled.
    pub fn delete(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<()> {
        let uri = envelope::class_resource_uri(class_name);
        let selectors = envelope::instance_selectors(&namespace.replace('\\', "/"), keys, &uri);
        self.endpoint.send(envelope::ACTION_DELETE, &uri, &selectors, "", cancel)?;
        Ok(())
    }

    /// Invokes `method` of `class_name` (DSP0227 §8.3): on the instance whose keys are `keys`, or
    /// statically when `keys` is empty, with the in-parameters `params`. Returns the output as an
    /// instance of `<method>_OUTPUT` holding `ReturnValue` and the out-parameters, typed by the class's
    /// method declaration when the server gives one. Output elements are matched by local name (servers
    /// name them inconsistently). `class_name` may be a resource URI (sent as is; no declaration then
    /// types the output).
    /// Errors: MethodNotFound, NotFound, InvalidArgument and the server's other faults, network errors,
    /// Cancelled.
    pub fn invoke(&self, namespace: &str, class_name: &str, keys: &[(String, String)], method: &str, params: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = envelope::instance_selectors(&namespace, keys, &uri);
        let body = envelope::invoke_body(&uri, method, params);
        let action = envelope::method_action(&uri, method);
        let reply = self.endpoint.send(&action, &uri, &selectors, &body, cancel)?;
        let output = reply
            .payload()
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to {method} holds no output", self.endpoint.computer())))?;
        // A resource URI names no class whose declaration could be asked for.
        let schema = if envelope::is_resource_uri(class_name) { None } else { schema::class_schema(&self.endpoint, &namespace, class_name, cancel)? };
        let declared = schema.as_deref().and_then(|s| s.method(method)).map(|m| m.output_schema());
        let origin = Origin { namespace: &namespace, server_name: self.endpoint.computer(), class_hint: None };
        let mut result = binding::instance(output, origin, declared.as_ref(), &[])?;
        result.class_name = format!("{method}_OUTPUT");
        Ok(result)
    }

    /// GetClass of `class_name` in `namespace` (see [`schema::get_class`]).
    /// Errors: as [`schema::get_class`].
    pub fn get_class(&self, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Arc<ClassSchema>> {
        schema::get_class(&self.endpoint, namespace, class_name, cancel)
    }

    /// The declaration of `class_name`, cached (see [`schema::class_schema`]).
    /// Errors: as [`schema::class_schema`].
    pub fn class_schema(&self, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Option<Arc<ClassSchema>>> {
        schema::class_schema(&self.endpoint, namespace, class_name, cancel)
    }

    /// Every class declaration in `namespace` (an Enumerate of the CIM-XML resource URI; Get-CimClass
    /// with a wildcard), in the server's order.
    /// Errors: the server's faults (many servers, OMI among them, do not enumerate classes), network
    /// errors, Cancelled; BadReply for an item that is no CLASS.
    pub fn classes(&self, namespace: &str, cancel: Option<Arc<Cancel>>) -> Result<Vec<ClassSchema>> {
        let namespace = namespace.replace('\\', "/");
        let body = envelope::enumerate_body(true, self.max_elements, EnumerationMode::Objects, None);
        let mut e = Enumeration::start(&self.endpoint, self.max_elements, namespace, envelope::CLASS_RESOURCE_URI.to_string(), "", false, &body, cancel)?;
        let mut classes = Vec::new();
        while e.advance()? {
            classes.push(binding::class_schema(binding::instance_element(e.current())).map_err(|err| err.context(self.endpoint.computer()))?);
        }
        Ok(classes)
    }
}

impl CimProvider for CimClient {
    fn protocol_name(&self) -> &'static str {
        "WSMAN"
    }

    /// WS-Management Identify.
    fn test_connection(&self) -> Result<()> {
        self.identify(None).map(drop)
    }

    /// The computer name as the session was given it.
    fn server_name(&self) -> String {
        self.endpoint.computer().to_string()
    }

    fn enumerate(&self, namespace: &str, class_name: &str, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        let e = CimClient::enumerate(self, namespace, class_name, None, flags.keys_only, flags.shallow, cancel)?;
        Ok(Instances::Stream(Box::new(e)))
    }

    /// WQL and CQL (`CQL` or `DMTF:CQL`), sent as the Enumerate filter.
    fn query(&self, namespace: &str, dialect: &str, text: &str, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances> {
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
        let e = CimClient::enumerate(self, namespace, &class, Some((uri, text)), flags.keys_only, flags.shallow, cancel)?;
        Ok(Instances::Stream(Box::new(e)))
    }

    fn associated(&self, namespace: &str, class_name: &str, keys: &[(String, String)], association: &Association, flags: OperationFlags, cancel: Option<Arc<Cancel>>) -> Result<Instances> {
        let e = CimClient::associated(self, namespace, class_name, keys, association, flags.keys_only, cancel)?;
        Ok(Instances::Stream(Box::new(e)))
    }

    fn get(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<CimInstance> {
        CimClient::get(self, namespace, class_name, keys, cancel)
    }

    fn create_instance(&self, namespace: &str, class_name: &str, properties: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        self.create(namespace, class_name, properties, cancel)
    }

    fn modify_instance(&self, namespace: &str, class_name: &str, keys: &[(String, String)], properties: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        self.put(namespace, class_name, keys, properties, cancel)
    }

    fn delete_instance(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<()> {
        self.delete(namespace, class_name, keys, cancel)
    }

    fn invoke(&self, namespace: &str, class_name: &str, keys: &[(String, String)], method: &str, params: &[CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        CimClient::invoke(self, namespace, class_name, keys, method, params, cancel)
    }

    fn get_class(&self, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Arc<ClassSchema>> {
        CimClient::get_class(self, namespace, class_name, cancel)
    }

    fn classes(&self, namespace: &str, cancel: Option<Arc<Cancel>>) -> Result<Vec<ClassSchema>> {
        CimClient::classes(self, namespace, cancel)
    }
}
