//! A running WS-Enumeration (DSP0226 §8): the Enumerate's first page, then one Pull per used-up page,
//! each item turned into a CIM instance typed by its class declaration ([`super::schema`], fetched
//! before the Enumerate and never while the context is open); a Release when dropped before the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::binding::{self, Origin};
use super::endpoint::Endpoint;
use super::envelope;
use super::reply::{self, Page};
use super::schema::ItemClasses;
use super::{NAMESPACE_SELECTOR, NS_ADDRESSING, NS_WSMAN};
use crate::cancel::Cancel;
use crate::cim::provider::InstanceStream;
use crate::cim::CimInstance;
use crate::error::{Error, ErrorKind, Result};
use crate::xml::Element;

/// Most time the Release of an enumeration dropped early waits for its reply.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Most Pull replies in a row that carry no item: a server that keeps answering with empty pages (and
/// a fresh or the same context) is cut off rather than pulled from forever.
pub const MAX_EMPTY_PAGES: u32 = 64;

/// A running enumeration: instances are handed out as the pages arrive; each Pull is sent only when
/// the previous page is used up, so memory holds one page at a time. Dropping an enumeration that has
/// not reached its end releases it on the server (WS-Enumeration Release).
pub struct Enumeration {
    endpoint: Arc<Endpoint>,
    /// `w:MaxElements` of each Pull.
    max_elements: u32,
    namespace: String,
    resource_uri: String,
    requested_class: String,
    shallow: bool,
    /// The page being handed out, and how many of its items are handed out.
    page: Option<Page>,
    taken: usize,
    context: Option<String>,
    cancel: Option<Arc<Cancel>>,
    classes: ItemClasses,
    /// Pull replies in a row without an item, and the time spent waiting for them: bounded by
    /// [`MAX_EMPTY_PAGES`] and the operation timeout ([`Endpoint::wait`]), not counting the time the
    /// caller takes between items.
    empty_pages: u32,
    empty_wait: Duration,
}

impl Enumeration {
    /// Sends an Enumerate (DSP0226 §8.2) of `resource_uri` in `namespace` with `body` and hands out its
    /// first page; later pages follow as the caller reads. `class_name` is the class asked for (or
    /// empty), `shallow` leaves out its subclasses' instances, `max_elements` bounds each Pull.
    /// Errors: the server's faults, network errors, Cancelled.
    pub fn start(endpoint: &Arc<Endpoint>, max_elements: u32, namespace: String, resource_uri: String, class_name: &str, shallow: bool, body: &str, cancel: Option<Arc<Cancel>>) -> Result<Enumeration> {
        // A resource URI's last segment is the class it names.
        let requested_class = class_name.rsplit('/').next().unwrap_or(class_name).to_string();
        // Declarations are fetched now: while the enumeration context is open, some servers answer
        // nothing else (see super::schema).
        let classes = match requested_class.as_str() {
            "" | "*" => ItemClasses::default(),
            _ if resource_uri == envelope::CLASS_RESOURCE_URI => ItemClasses::default(),
            class => ItemClasses::prefetch(endpoint, &namespace, class, cancel.as_deref())?,
        };
        let selectors = envelope::namespace_selector(&namespace, &resource_uri);
        let page = reply::page(endpoint.send(envelope::ACTION_ENUMERATE, &resource_uri, &selectors, body, cancel.as_deref())?)?;
        let mut e = Enumeration {
            endpoint: Arc::clone(endpoint),
            max_elements,
            namespace,
            resource_uri,
            requested_class,
            shallow,
            page: None,
            taken: 0,
            context: None,
            cancel,
            classes,
            empty_pages: 0,
            empty_wait: Duration::ZERO,
        };
        e.take(page);
        Ok(e)
    }

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
    /// Errors: also BadReply after [`MAX_EMPTY_PAGES`] Pull replies in a row without an item, and
    /// Timeout when such replies took longer than the operation timeout together.
    pub(super) fn advance(&mut self) -> Result<bool> {
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
            let body = envelope::pull_body(&context, self.max_elements);
            let selectors = envelope::namespace_selector(&self.namespace, &self.resource_uri);
            let started = Instant::now();
            let page = self
                .endpoint
                .send(envelope::ACTION_PULL, &self.resource_uri, &selectors, &body, self.cancel.as_deref())
                .and_then(reply::page)
                .and_then(|page| self.count_empty(page, started.elapsed(), &context));
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

    /// Passes `page` on, counting it when it is empty and still leaves the enumeration open; fails when
    /// there were too many such pages in a row or they took too long (`waited`: this one's wait). The
    /// context given stays open on the server, so a failure leaves it for the Release on drop.
    fn count_empty(&mut self, page: Page, waited: Duration, context: &str) -> Result<Page> {
        if !page.is_empty() || page.end_of_sequence {
            self.empty_pages = 0;
            self.empty_wait = Duration::ZERO;
            return Ok(page);
        }
        self.empty_pages += 1;
        self.empty_wait += waited;
        let from = self.endpoint.computer();
        if self.empty_pages >= MAX_EMPTY_PAGES {
            self.context = Some(page.context.clone().unwrap_or_else(|| context.to_string()));
            return Err(Error::new(ErrorKind::BadReply, format!("{from} answered {MAX_EMPTY_PAGES} Pulls in a row with no instance and no end of sequence")));
        }
        if self.empty_wait > self.endpoint.wait() {
            self.context = Some(page.context.clone().unwrap_or_else(|| context.to_string()));
            return Err(Error::new(ErrorKind::Timeout, format!("{from} sent no instance within {} ms of Pulls", self.endpoint.wait().as_millis())));
        }
        Ok(page)
    }

    /// The item [`Enumeration::advance`] moved to. Panics when it has not moved to one.
    pub(super) fn current(&self) -> Element<'_> {
        item_moved_to(&self.page, self.taken)
    }

    /// The item [`Enumeration::advance`] moved to, as an instance: an EPR item (KeyOnly) holds its key
    /// properties (the selectors); values are typed by the class schema.
    fn instance(&mut self) -> Result<CimInstance> {
        // Borrows only the page, so that the class cache below can be updated meanwhile.
        let item = item_moved_to(&self.page, self.taken);
        let hint = (!self.requested_class.is_empty()).then_some(self.requested_class.as_str());
        let origin = Origin { namespace: &self.namespace, server_name: &self.endpoint.computer(), class_hint: hint };
        let cancel = self.cancel.as_deref();
        // Only once the server has closed the context may a declaration be asked for.
        let may_fetch = self.context.is_none();
        if item.name() != "EndpointReference" {
            let class = binding::class_of(binding::instance_element(item), origin);
            let (schema, ancestry) = self.classes.lookup(&self.endpoint, &self.namespace, class, may_fetch, cancel)?;
            return binding::instance(item, origin, schema, ancestry);
        }
        let params = item.child(NS_ADDRESSING, "ReferenceParameters");
        let uri = params.and_then(|p| p.child(NS_WSMAN, "ResourceURI")).map(|u| u.trimmed()).unwrap_or("");
        let class = uri.rsplit('/').next().unwrap_or(&self.requested_class);
        let selectors: Vec<Element<'_>> = params
            .and_then(|p| p.child(NS_WSMAN, "SelectorSet"))
            .into_iter()
            .flat_map(|set| set.children_named(NS_WSMAN, "Selector"))
            .filter(|s| selector_name(s) != NAMESPACE_SELECTOR)
            .collect();
        let (schema, ancestry) = self.classes.lookup(&self.endpoint, &self.namespace, class, may_fetch, cancel)?;
        let mut instance = binding::instance_of_properties(class, &selectors, selector_name, origin, schema, ancestry)?;
        instance.properties.iter_mut().for_each(|p| p.key = true);
        Ok(instance)
    }
}

impl InstanceStream for Enumeration {
    fn next(&mut self) -> Result<Option<CimInstance>> {
        Enumeration::next(self)
    }
}

/// Item `taken` (counting from 1) of `page`: what [`Enumeration::advance`] moved to.
/// Panics when it has not moved to one.
fn item_moved_to(page: &Option<Page>, taken: usize) -> Element<'_> {
    page.as_ref().expect("advance moved to an item").item(taken - 1)
}

/// A selector's `Name` (the key it gives a value for).
fn selector_name<'d>(selector: &Element<'d>) -> &'d str {
    selector.attr("", "Name").unwrap_or_default()
}

impl Drop for Enumeration {
    fn drop(&mut self) {
        let Some(context) = self.context.take() else { return };
        // Waited for (briefly) so the server has the context back before the caller goes on.
        let selectors = envelope::namespace_selector(&self.namespace, &self.resource_uri);
        let body = envelope::release_body(&context);
        let _ = self.endpoint.send_within(envelope::ACTION_RELEASE, &self.resource_uri, &selectors, &body, RELEASE_WAIT, None);
    }
}
