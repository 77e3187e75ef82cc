//! The WS-Management client of CIM operations: one [`WsmanClient`] per endpoint (computer, port,
//! scheme, credentials), sending envelopes over the shared HTTP pool ([`crate::transport::http`]) and
//! reading the replies. Operations block the calling thread (the C ABI is blocking) and can be
//! cancelled from another thread through a [`Cancel`].
//!
//! Class declarations are fetched once per endpoint and class (GetClass over the CIM-XML resource URI)
//! to type instance values; a server that has no such operation leaves values untyped (strings), as
//! the binding module explains.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::Uri;
use once_cell::sync::Lazy;

use super::binding::{self, ClassSchema, Origin};
use super::envelope::{self, EnumerationMode, Header};
use super::reply::{self, Identity, Page, Reply};
use super::xml::Element;
use crate::cim::CimInstance;
use crate::error::{Error, ErrorKind, Result};
use crate::registry::SessionOptions;
use crate::transport::http::{self, TlsPolicy};
use crate::transport::Cancel;

/// A user name and password. The password never appears in Debug output, errors or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    password: String,
}

impl Credential {
    /// A credential for `user` (`DOMAIN\user` or `user@realm` as the server expects) with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credential { user: user.into(), password: password.into() }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential {{ user: {:?}, password: <hidden> }}", self.user)
    }
}

/// New-CimSession -Authentication (`PasswordAuthenticationMechanism`, spec §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authentication {
    /// Basic when a credential is given (Negotiate arrives with the authentication work), none otherwise.
    #[default]
    Default,
    Basic,
    Digest,
    Negotiate,
    Kerberos,
    NtlmDomain,
    CredSsp,
}

/// Default `w:MaxEnvelopeSize`, in bytes (what Windows' client sends).
pub const DEFAULT_MAX_ENVELOPE: u32 = 512_000;
/// Default `w:OperationTimeout`, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 60_000;
/// Default `w:MaxElements` of an optimized Enumerate and of each Pull (Windows' client sends 32000).
pub const DEFAULT_MAX_ELEMENTS: u32 = 32_000;
/// Most extra time the HTTP wait allows beyond the operation timeout, for the server to answer with
/// its own timeout fault; the extra is never more than the operation timeout itself.
const HTTP_GRACE: Duration = Duration::from_secs(10);
/// Most time the Release of an enumeration dropped early waits for its reply.
const RELEASE_WAIT: Duration = Duration::from_secs(5);
/// How many superclasses deep a class's ancestry is fetched.
const MAX_ANCESTRY: usize = 16;

/// Class declarations by endpoint URL, namespace and class (lower-cased); None when the server has none
/// to give. Shared by every session and ad hoc call to the same endpoint.
type SchemaCache = HashMap<(String, String, String), Option<Arc<ClassSchema>>>;
static SCHEMAS: Lazy<Mutex<SchemaCache>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// A WS-Management endpoint and how to talk to it. Thread-safe; cheap to share.
pub struct WsmanClient {
    computer: String,
    /// The endpoint, with the headers every request carries.
    target: http::Target,
    /// The endpoint URL as text (the `wsa:To` of every request, and the key of the schema cache).
    url_text: String,
    max_envelope_size: u32,
    timeout_ms: u32,
    locale: Option<String>,
    data_locale: Option<String>,
    /// `w:MaxElements` of an optimized Enumerate and of each Pull.
    pub max_elements: u32,
}

impl fmt::Debug for WsmanClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsmanClient").field("computer", &self.computer).field("url", &self.url_text).finish_non_exhaustive()
    }
}

impl WsmanClient {
    /// A client for `computer` with New-CimSessionOption's `options` (scheme, port, prefix, TLS checks,
    /// envelope size, timeout, cultures) and the session's credential and mechanism.
    /// Errors: InvalidArgument for a computer name that makes no URL, and for Basic over HTTP without
    /// NoEncryption (the password would travel in clear text); NotSupported for the mechanisms that need
    /// GSSAPI (Negotiate, Kerberos, NtlmDomain) or that WS-Management clients here do not offer
    /// (Digest, CredSsp); InvalidArgument for Basic without a credential.
    pub fn new(computer: &str, options: &SessionOptions, credential: Option<&Credential>, authentication: Authentication) -> Result<WsmanClient> {
        let scheme = if options.use_ssl { "https" } else { "http" };
        let port = if options.port != 0 { options.port } else if options.use_ssl { 5986 } else { 5985 };
        let host = if computer.contains(':') && !computer.starts_with('[') { format!("[{computer}]") } else { computer.to_string() };
        let prefix = options.http_prefix.as_deref().unwrap_or("wsman").trim_matches('/').to_string();
        let url: Uri = format!("{scheme}://{host}:{port}/{prefix}")
            .parse()
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("'{computer}' is not a computer name a URL can be made of: {e}")))?;
        let authorization = match (authentication, credential) {
            (Authentication::Default | Authentication::Basic, Some(c)) => {
                if !options.use_ssl && !options.no_encryption {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "Basic authentication to {computer} over HTTP would send the password unencrypted. \
                             Use -UseSsl, or allow it with New-CimSessionOption -NoEncryption."
                        ),
                    ));
                }
                Some(format!("Basic {}", base64::encode(format!("{}:{}", c.user, c.password))))
            }
            (Authentication::Basic, None) => {
                return Err(Error::new(ErrorKind::InvalidArgument, "Basic authentication needs a credential (-Credential)"));
            }
            (Authentication::Default, None) => None,
            (other, _) => {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!("The authentication mechanism {other:?} is not yet supported by RemoteSessions; use Basic over HTTPS"),
                ));
            }
        };
        let policy = TlsPolicy { verify_chain: !options.skip_ca_check, verify_name: !options.skip_cn_check };
        Ok(WsmanClient {
            computer: computer.to_string(),
            url_text: url.to_string(),
            target: http::Target::new(url, policy, authorization.as_deref())?,
            max_envelope_size: if options.max_envelope_size_kb == 0 { DEFAULT_MAX_ENVELOPE } else { options.max_envelope_size_kb.saturating_mul(1024) },
            timeout_ms: if options.timeout_ms == 0 { DEFAULT_TIMEOUT_MS } else { options.timeout_ms },
            locale: options.ui_culture.clone(),
            data_locale: options.culture.clone(),
            max_elements: DEFAULT_MAX_ELEMENTS,
        })
    }

    /// The computer name as given.
    pub fn computer(&self) -> &str {
        &self.computer
    }

    /// The endpoint URL, e.g. `https://srv1:5986/wsman`.
    pub fn url(&self) -> String {
        self.url_text.clone()
    }

    /// WS-Management Identify (DSP0226 §11): what New-CimSession's test connection sends.
    pub fn identify(&self, cancel: Option<&Cancel>) -> Result<Identity> {
        reply::identity(self.exchange(envelope::identify(), self.wait(), cancel)?)
    }

    /// Starts an enumeration of `class_name` in `namespace` (slash or backslash form), with a `filter`
    /// of (dialect URI, text) when given; results come from [`Enumeration::next`]. For a query,
    /// `class_name` is the class it selects from when known, else empty. A WQL query goes to the
    /// wildcard resource URI `http://schemas.dmtf.org/wbem/wscim/1/*`, as Windows' client sends it;
    /// another dialect (CQL) to the class's URI when the class is known.
    /// `keys_only` enumerates endpoint references and hands out instances with only their keys;
    /// `shallow` leaves out instances of subclasses.
    /// Errors: the server's faults (InvalidNamespace, InvalidClass, InvalidQuery, …), network errors.
    pub fn enumerate(self: &Arc<Self>, namespace: &str, class_name: &str, filter: Option<(&str, &str)>, keys_only: bool, shallow: bool, cancel: Option<Arc<Cancel>>) -> Result<Enumeration> {
        let namespace = namespace.replace('\\', "/");
        let resource_uri = match filter {
            Some((dialect, _)) if dialect == envelope::DIALECT_WQL || class_name.is_empty() => envelope::QUERY_RESOURCE_URI.to_string(),
            _ => envelope::class_resource_uri(class_name),
        };
        let mode = if keys_only { EnumerationMode::Epr } else { EnumerationMode::Objects };
        let body = envelope::enumerate_body(true, self.max_elements, mode, filter);
        self.start_enumeration(namespace, resource_uri, class_name, shallow, &body, cancel)
    }

    /// Starts an enumeration of the instances associated with, or the associations referring to, the
    /// instance of `class_name` whose keys are `keys` (DSP0227 §8.2; Get-CimAssociatedInstance), sent
    /// as Windows' client sends it: to the wildcard resource URI, each item an instance with its EPR,
    /// or only the EPR when `keys_only` (the instances then hold only their keys).
    /// Errors: as [`WsmanClient::enumerate`]; NotFound when the source instance does not exist.
    pub fn associated(self: &Arc<Self>, namespace: &str, class_name: &str, keys: &[(String, String)], association: &envelope::Association, keys_only: bool, cancel: Option<Arc<Cancel>>) -> Result<Enumeration> {
        let namespace = namespace.replace('\\', "/");
        let source_uri = envelope::class_resource_uri(class_name);
        let source = instance_selectors(&namespace, keys, &source_uri);
        let body = envelope::association_body(self.max_elements, keys_only, &source_uri, &source, association);
        let result_class = match association {
            envelope::Association::Associated { result_class, .. } | envelope::Association::References { result_class, .. } => result_class.clone(),
        };
        self.start_enumeration(namespace, envelope::QUERY_RESOURCE_URI.to_string(), result_class.as_deref().unwrap_or(""), false, &body, cancel)
    }

    /// Sends an Enumerate with `body` and hands out its first page; later pages follow as the caller reads.
    fn start_enumeration(self: &Arc<Self>, namespace: String, resource_uri: String, class_name: &str, shallow: bool, body: &str, cancel: Option<Arc<Cancel>>) -> Result<Enumeration> {
        let selectors = namespace_selector(&namespace, &resource_uri);
        let page = reply::page(self.send(envelope::ACTION_ENUMERATE, &resource_uri, &selectors, body, cancel.as_deref())?)?;
        let mut e = Enumeration {
            client: Arc::clone(self),
            namespace,
            resource_uri,
            // A resource URI's last segment is the class it names.
            requested_class: class_name.rsplit('/').next().unwrap_or(class_name).to_string(),
            shallow,
            page: None,
            taken: 0,
            context: None,
            cancel,
            classes: LastClass::default(),
        };
        e.take(page);
        Ok(e)
    }

    /// WS-Transfer Get of the instance of `class_name` whose keys are `keys` (name, value as text)
    /// (DSP0227 §8.1: the keys are selectors beside `__cimnamespace`).
    /// Errors: NotFound (CIM status 6) and the server's other faults, network errors, Cancelled.
    pub fn get(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = instance_selectors(&namespace, keys, &uri);
        let reply = self.send(envelope::ACTION_GET, &uri, &selectors, "", cancel)?;
        let item = reply
            .payload()
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to Get holds no instance", self.computer)))?;
        let schema = self.class_schema(&namespace, item.name(), cancel)?;
        let ancestry = self.ancestry(&namespace, schema.as_deref(), cancel)?;
        let origin = Origin { namespace: &namespace, server_name: &self.computer, class_hint: Some(class_name) };
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
    pub fn create(&self, namespace: &str, class_name: &str, properties: &[crate::cim::CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        use super::{NS_ADDRESSING, NS_TRANSFER, NS_WSMAN};
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = instance_selectors(&namespace, &[], &uri);
        let body = envelope::instance_body(&uri, class_name, properties);
        let reply = self.send(envelope::ACTION_CREATE, &uri, &selectors, &body, cancel)?;
        let created = reply
            .body()
            .and_then(|b| b.child(NS_TRANSFER, "ResourceCreated"))
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to Create names no created resource", self.computer)))?;
        let keys: Vec<(String, String)> = created
            .child(NS_ADDRESSING, "ReferenceParameters")
            .and_then(|p| p.child(NS_WSMAN, "SelectorSet"))
            .into_iter()
            .flat_map(|set| set.children_named(NS_WSMAN, "Selector"))
            .map(|s| (s.attr("", "Name").unwrap_or_default().to_string(), s.trimmed().to_string()))
            .filter(|(name, _)| name != envelope::NAMESPACE_SELECTOR)
            .collect();
        match self.get(&namespace, class_name, &keys, cancel) {
            Ok(instance) => Ok(instance),
            Err(e) if matches!(e.kind, ErrorKind::Cancelled | ErrorKind::ConnectionFailed | ErrorKind::Timeout | ErrorKind::TlsFailed | ErrorKind::AccessDenied) => Err(e),
            Err(_) => {
                let mut sent = properties.to_vec();
                for p in sent.iter_mut() {
                    p.key = keys.iter().any(|(k, _)| k.eq_ignore_ascii_case(&p.name));
                }
                Ok(CimInstance { namespace, class_name: class_name.to_string(), superclasses: Vec::new(), server_name: self.computer.clone(), properties: sent })
            }
        }
    }

    /// WS-Transfer Put (DSP0227 §8.5; Set-CimInstance) of the instance of `class_name` whose keys are
    /// `keys`, with `properties`; returns the instance as the server now has it.
    /// Errors: NotFound, InvalidArgument and the server's other faults, network errors, Cancelled.
    pub fn put(&self, namespace: &str, class_name: &str, keys: &[(String, String)], properties: &[crate::cim::CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = instance_selectors(&namespace, keys, &uri);
        let body = envelope::instance_body(&uri, class_name, properties);
        let reply = self.send(envelope::ACTION_PUT, &uri, &selectors, &body, cancel)?;
        let item = reply
            .payload()
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to Put holds no instance", self.computer)))?;
        let schema = self.class_schema(&namespace, item.name(), cancel)?;
        let ancestry = self.ancestry(&namespace, schema.as_deref(), cancel)?;
        let origin = Origin { namespace: &namespace, server_name: &self.computer, class_hint: Some(class_name) };
        binding::instance(item, origin, schema.as_deref(), &ancestry)
    }

    /// WS-Transfer Delete (DSP0227 §8.6; Remove-CimInstance) of the instance of `class_name` whose
    /// keys are `keys`. Errors: NotFound and the server's other faults, network errors, Cancelled.
    pub fn delete(&self, namespace: &str, class_name: &str, keys: &[(String, String)], cancel: Option<&Cancel>) -> Result<()> {
        let uri = envelope::class_resource_uri(class_name);
        let selectors = instance_selectors(&namespace.replace('\\', "/"), keys, &uri);
        self.send(envelope::ACTION_DELETE, &uri, &selectors, "", cancel)?;
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
    pub fn invoke(&self, namespace: &str, class_name: &str, keys: &[(String, String)], method: &str, params: &[crate::cim::CimProperty], cancel: Option<&Cancel>) -> Result<CimInstance> {
        let namespace = namespace.replace('\\', "/");
        let uri = envelope::class_resource_uri(class_name);
        let selectors = instance_selectors(&namespace, keys, &uri);
        let body = envelope::invoke_body(&uri, method, params);
        let action = envelope::method_action(&uri, method);
        let reply = self.send(&action, &uri, &selectors, &body, cancel)?;
        let output = reply
            .payload()
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to {method} holds no output", self.computer)))?;
        // A resource URI names no class whose declaration could be asked for.
        let schema = if envelope::is_resource_uri(class_name) { None } else { self.class_schema(&namespace, class_name, cancel)? };
        let declared = schema.as_deref().and_then(|s| s.method(method)).map(|m| m.output_schema());
        let origin = Origin { namespace: &namespace, server_name: &self.computer, class_hint: None };
        let mut result = binding::instance(output, origin, declared.as_ref(), &[])?;
        result.class_name = format!("{method}_OUTPUT");
        Ok(result)
    }

    /// GetClass (DSP0227 §8.1 over the CIM-XML resource URI; Get-CimClass): the declaration of
    /// `class_name` in `namespace`, always fetched (and then cached for typing values).
    /// Errors: InvalidClass, InvalidNamespace and the server's other faults, network errors, Cancelled;
    /// BadReply when the reply holds no CLASS.
    pub fn get_class(&self, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Arc<ClassSchema>> {
        let namespace = namespace.replace('\\', "/");
        let selectors = vec![
            (envelope::NAMESPACE_SELECTOR.to_string(), namespace.clone()),
            ("ClassName".to_string(), class_name.to_string()),
        ];
        let reply = self.send(envelope::ACTION_GET, envelope::CLASS_RESOURCE_URI, &selectors, "", cancel)?;
        let class = reply
            .payload()
            .ok_or_else(|| Error::new(ErrorKind::BadReply, format!("{}: the reply to GetClass holds no class", self.computer)))?;
        let schema = Arc::new(binding::class_schema(class).map_err(|e| e.context(&self.computer))?);
        let key = (self.url_text.clone(), namespace.to_lowercase(), class_name.to_lowercase());
        SCHEMAS.lock().unwrap_or_else(|p| p.into_inner()).insert(key, Some(Arc::clone(&schema)));
        Ok(schema)
    }

    /// Every class declaration in `namespace` (an Enumerate of the CIM-XML resource URI; Get-CimClass
    /// with a wildcard), in the server's order.
    /// Errors: the server's faults (many servers, OMI among them, do not enumerate classes), network
    /// errors, Cancelled; BadReply for an item that is no CLASS.
    pub fn classes(self: &Arc<Self>, namespace: &str, cancel: Option<Arc<Cancel>>) -> Result<Vec<ClassSchema>> {
        let namespace = namespace.replace('\\', "/");
        let body = envelope::enumerate_body(true, self.max_elements, EnumerationMode::Objects, None);
        let mut e = self.start_enumeration(namespace, envelope::CLASS_RESOURCE_URI.to_string(), "", false, &body, cancel)?;
        let mut classes = Vec::new();
        while e.advance()? {
            classes.push(binding::class_schema(binding::instance_element(e.current())).map_err(|err| err.context(&self.computer))?);
        }
        Ok(classes)
    }

    /// The class declaration of `class_name`, from this endpoint's cache or fetched with GetClass;
    /// None when the server does not give one (the values then stay untyped).
    pub fn class_schema(&self, namespace: &str, class_name: &str, cancel: Option<&Cancel>) -> Result<Option<Arc<ClassSchema>>> {
        let key = (self.url_text.clone(), namespace.to_lowercase(), class_name.to_lowercase());
        if let Some(known) = SCHEMAS.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(known.clone());
        }
        let schema = match self.get_class(namespace, class_name, cancel) {
            Ok(schema) => Some(schema),
            // Cancellation and a dead server are the caller's errors, not "this server has no classes".
            Err(e) if matches!(e.kind, ErrorKind::Cancelled | ErrorKind::ConnectionFailed | ErrorKind::Timeout | ErrorKind::TlsFailed | ErrorKind::AccessDenied) => return Err(e),
            Err(_) => None,
        };
        SCHEMAS.lock().unwrap_or_else(|p| p.into_inner()).insert(key, schema.clone());
        Ok(schema)
    }

    /// The superclasses of `class_name`, nearest first, as far as the server's declarations tell.
    fn ancestry(&self, namespace: &str, schema: Option<&ClassSchema>, cancel: Option<&Cancel>) -> Result<Vec<String>> {
        let mut chain = Vec::new();
        let mut next = schema.and_then(|s| s.superclass.clone());
        while let Some(parent) = next.take() {
            if chain.len() >= MAX_ANCESTRY || chain.iter().any(|c: &String| c.eq_ignore_ascii_case(&parent)) {
                break;
            }
            next = self.class_schema(namespace, &parent, cancel)?.and_then(|s| s.superclass.clone());
            chain.push(parent);
        }
        Ok(chain)
    }

    /// Sends one request with the standard header and reads its reply (faults become errors).
    fn send(&self, action: &str, resource_uri: &str, selectors: &[(String, String)], body: &str, cancel: Option<&Cancel>) -> Result<Reply> {
        self.send_within(action, resource_uri, selectors, body, self.wait(), cancel)
    }

    /// How long a request waits for its reply: the operation timeout, and a grace for the server to
    /// answer with its own timeout fault (never more than the timeout again).
    fn wait(&self) -> Duration {
        let timeout = Duration::from_millis(u64::from(self.timeout_ms));
        timeout + timeout.min(HTTP_GRACE)
    }

    /// [`WsmanClient::send`], waiting at most `wait` for the reply.
    fn send_within(&self, action: &str, resource_uri: &str, selectors: &[(String, String)], body: &str, wait: Duration, cancel: Option<&Cancel>) -> Result<Reply> {
        let header = Header {
            to: &self.url_text,
            resource_uri,
            action,
            selectors,
            max_envelope_size: self.max_envelope_size,
            timeout_ms: self.timeout_ms,
            locale: self.locale.as_deref(),
            data_locale: self.data_locale.as_deref(),
        };
        self.exchange(envelope::request(&header, body).xml, wait, cancel)
    }

    /// POSTs an envelope and turns the HTTP reply into a [`Reply`] or an error naming this computer.
    fn exchange(&self, xml: String, wait: Duration, cancel: Option<&Cancel>) -> Result<Reply> {
        let reply = http::post(&self.target, xml, wait, cancel)?;
        let soap = reply.content_type.as_deref().map_or(false, |t| t.to_ascii_lowercase().starts_with("application/soap+xml"));
        let from = &self.computer;
        match reply.status {
            401 => Err(Error::new(ErrorKind::AccessDenied, format!("{from} refused the credentials (HTTP 401 Unauthorized)"))),
            403 => Err(Error::new(ErrorKind::AccessDenied, format!("{from} refused the request (HTTP 403 Forbidden)"))),
            200 | 400 | 500 if soap => {
                let parsed = Reply::parse(reply.body).map_err(|e| e.context(from))?;
                match parsed.fault() {
                    Some(fault) => Err(fault.into_error().context(from)),
                    None if reply.status == 200 => Ok(parsed),
                    None => Err(Error::new(ErrorKind::BadReply, format!("{from} answered HTTP {} without a fault", reply.status))),
                }
            }
            200 | 400 | 500 => Err(Error::new(
                ErrorKind::BadReply,
                format!(
                    "{from} answered with content type '{}' instead of application/soap+xml (HTTP {})",
                    reply.content_type.as_deref().unwrap_or("none"),
                    reply.status
                ),
            )),
            status => Err(Error::new(ErrorKind::BadReply, format!("{from} answered HTTP {status} to a WS-Management request"))),
        }
    }
}

/// The selectors naming an instance at `resource_uri`: `__cimnamespace` (slash form) and the key values
/// (DSP0227 §7.1); a WMI resource URI names its namespace itself, so it gets only the keys.
fn instance_selectors(namespace: &str, keys: &[(String, String)], resource_uri: &str) -> Vec<(String, String)> {
    let mut selectors = namespace_selector(namespace, resource_uri);
    selectors.extend(keys.iter().cloned());
    selectors
}

/// `__cimnamespace` for an operation on `resource_uri`, unless the URI names the namespace (WMI form).
fn namespace_selector(namespace: &str, resource_uri: &str) -> Vec<(String, String)> {
    if envelope::uri_names_namespace(resource_uri) {
        Vec::new()
    } else {
        vec![(envelope::NAMESPACE_SELECTOR.to_string(), namespace.to_string())]
    }
}

/// A running enumeration: instances are handed out as the pages arrive; each Pull is sent only when
/// the previous page is used up, so memory holds one page at a time. Dropping an enumeration that has
/// not reached its end releases it on the server (WS-Enumeration Release).
pub struct Enumeration {
    client: Arc<WsmanClient>,
    namespace: String,
    resource_uri: String,
    requested_class: String,
    shallow: bool,
    /// The page being handed out, and how many of its items are handed out.
    page: Option<Page>,
    taken: usize,
    context: Option<String>,
    cancel: Option<Arc<Cancel>>,
    classes: LastClass,
}

impl Enumeration {
    fn take(&mut self, mut page: Page) {
        self.context = page.context.take();
        self.page = Some(page);
        self.taken = 0;
    }

    /// The next instance, or None at the end. Sends a Pull when the current page is used up. Once the
    /// enumeration's cancel token is cancelled, every call fails with Cancelled (the enumeration is
    /// released when dropped).
    /// Errors: the server's faults, network errors, Cancelled, BadReply for an item that is no instance.
    pub fn next(&mut self) -> Result<Option<CimInstance>> {
        while self.advance()? {
            let instance = self.instance()?;
            if self.shallow && !self.requested_class.is_empty() && !instance.class_name.eq_ignore_ascii_case(&self.requested_class) {
                continue;
            }
            return Ok(Some(instance));
        }
        Ok(None)
    }

    /// Moves to the next item as the server sent it ([`Enumeration::current`]); false at the end.
    /// Pulls and cancellation as for [`Enumeration::next`].
    fn advance(&mut self) -> Result<bool> {
        if self.cancel.as_deref().map_or(false, Cancel::is_cancelled) {
            return Err(Cancel::error());
        }
        loop {
            if self.page.as_ref().map_or(false, |p| self.taken < p.len()) {
                self.taken += 1;
                return Ok(true);
            }
            // The used-up page is freed before the next one arrives.
            self.page = None;
            let Some(context) = self.context.take() else { return Ok(false) };
            let body = envelope::pull_body(&context, self.client.max_elements);
            let selectors = namespace_selector(&self.namespace, &self.resource_uri);
            let client = Arc::clone(&self.client);
            let page = client
                .send(envelope::ACTION_PULL, &self.resource_uri, &selectors, &body, self.cancel.as_deref())
                .and_then(reply::page);
            match page {
                Ok(page) if page.context.is_none() && !page.end_of_sequence => {
                    self.take(page);
                    self.context = Some(context);
                }
                Ok(page) => self.take(page),
                Err(e) => {
                    // The context is still open on the server unless it said otherwise.
                    if e.kind == ErrorKind::Cancelled {
                        self.context = Some(context);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The item [`Enumeration::advance`] moved to. Panics when it has not moved to one.
    fn current(&self) -> Element<'_> {
        item_moved_to(&self.page, self.taken)
    }

    /// The item [`Enumeration::advance`] moved to, as an instance: an EPR item (KeyOnly) holds its key
    /// properties (the selectors); values are typed by the class schema.
    fn instance(&mut self) -> Result<CimInstance> {
        use super::{NS_ADDRESSING, NS_WSMAN};
        // Borrows only the page, so that the class cache below can be updated meanwhile.
        let item = item_moved_to(&self.page, self.taken);
        let hint = (!self.requested_class.is_empty()).then_some(self.requested_class.as_str());
        let origin = Origin { namespace: &self.namespace, server_name: &self.client.computer, class_hint: hint };
        let cancel = self.cancel.as_deref();
        if item.name() != "EndpointReference" {
            let class = binding::class_of(binding::instance_element(item), origin);
            let (schema, ancestry) = self.classes.lookup(&self.client, &self.namespace, class, cancel)?;
            return binding::instance(item, origin, schema, ancestry);
        }
        let params = item.child(NS_ADDRESSING, "ReferenceParameters");
        let uri = params.and_then(|p| p.child(NS_WSMAN, "ResourceURI")).map(|u| u.trimmed()).unwrap_or("");
        let class = uri.rsplit('/').next().unwrap_or(&self.requested_class);
        let selectors: Vec<Element<'_>> = params
            .and_then(|p| p.child(NS_WSMAN, "SelectorSet"))
            .into_iter()
            .flat_map(|set| set.children_named(NS_WSMAN, "Selector"))
            .filter(|s| selector_name(s) != envelope::NAMESPACE_SELECTOR)
            .collect();
        let (schema, ancestry) = self.classes.lookup(&self.client, &self.namespace, class, cancel)?;
        let mut instance = binding::instance_of_properties(class, &selectors, selector_name, origin, schema, ancestry)?;
        instance.properties.iter_mut().for_each(|p| p.key = true);
        Ok(instance)
    }
}

/// Item `taken` (counting from 1) of `page`: what [`Enumeration::advance`] moved to.
/// Panics when it has not moved to one.
fn item_moved_to(page: &Option<Page>, taken: usize) -> Element<'_> {
    page.as_ref().expect("advance moved to an item").item(taken - 1)
}

/// The class of an enumeration's last item, with its schema and superclasses: items mostly share one
/// class, which is then looked up once rather than per item.
#[derive(Default)]
struct LastClass(Option<(String, Option<Arc<ClassSchema>>, Vec<String>)>);

impl LastClass {
    /// The schema (None: the server gives none) and superclasses of `class`.
    /// Errors: as [`WsmanClient::class_schema`].
    fn lookup(&mut self, client: &WsmanClient, namespace: &str, class: &str, cancel: Option<&Cancel>) -> Result<(Option<&ClassSchema>, &[String])> {
        if !self.0.as_ref().map_or(false, |(name, ..)| name.eq_ignore_ascii_case(class)) {
            let schema = client.class_schema(namespace, class, cancel)?;
            let ancestry = client.ancestry(namespace, schema.as_deref(), cancel)?;
            self.0 = Some((class.to_string(), schema, ancestry));
        }
        let (_, schema, ancestry) = self.0.as_ref().expect("set above");
        Ok((schema.as_deref(), ancestry))
    }
}

/// A selector's `Name` (the key it gives a value for).
fn selector_name<'d>(selector: &Element<'d>) -> &'d str {
    selector.attr("", "Name").unwrap_or_default()
}

impl Drop for Enumeration {
    fn drop(&mut self) {
        let Some(context) = self.context.take() else { return };
        // Waited for (briefly) so the server has the context back before the caller goes on.
        let selectors = namespace_selector(&self.namespace, &self.resource_uri);
        let body = envelope::release_body(&context);
        let _ = self.client.send_within(envelope::ACTION_RELEASE, &self.resource_uri, &selectors, &body, RELEASE_WAIT, None);
    }
}
